"""What goes into one group-commit batch (domain/ledger/group_commit.py): up to `max_events` events
and never more, never two saves of one aggregate, and a leader that waits for company only
when a `window` is configured and others are about. Found by `make mutate`: batches over the
limit, a same-aggregate save slipping into a batch, and a leader sleeping with the default
settings all passed every test."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import domain.ledger.group_commit as group_commit
from domain.ledger.group_commit import GroupCommitter
from tests.unit.test_group_commit_every_caller_answered import (
    _Aggregate,
    _GatedStore,
    _positions,
    _save_in_threads,
)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the committer asks for, instead of waiting (its clock, and nobody else's)."""
    asked: list[float] = []
    monkeypatch.setattr(group_commit, "time", SimpleNamespace(sleep=asked.append))
    return asked


def test_a_batch_takes_callers_in_order_up_to_max_events_and_stops_there(sleeps: list[float]) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save, max_events=3)

    answers = _save_in_threads(committer, store, [
        _Aggregate("a", events=2), _Aggregate("b"), _Aggregate("c"), _Aggregate("d", events=2),
    ])

    assert store.transactions[1:] == [["e-a.1", "e-a.2", "e-b"], ["e-c", "e-d.1", "e-d.2"]]
    assert _positions(answers["d"]) == ["e-d.1", "e-d.2"]


def test_a_caller_that_would_overfill_the_batch_waits_for_the_next_one(sleeps: list[float]) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save, max_events=3)

    answers = _save_in_threads(committer, store, [
        _Aggregate("a", events=2), _Aggregate("b", events=2), _Aggregate("c"),
    ])

    assert store.transactions[1:] == [["e-a.1", "e-a.2", "e-c"], ["e-b.1", "e-b.2"]]
    assert all(isinstance(answers[name], list) for name in "abc")


def test_two_saves_of_one_aggregate_never_share_a_batch_even_with_a_caller_between_them(
    sleeps: list[float],
) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save)

    answers = _save_in_threads(committer, store, [
        _Aggregate("x1", aggregate_id="x"), _Aggregate("y"), _Aggregate("x2", aggregate_id="x"),
    ])

    assert store.transactions[1:] == [["e-x1", "e-y"], ["e-x2"]]
    assert _positions(answers["x2"]) == ["e-x2"]


def test_by_default_a_leader_never_waits_for_company(sleeps: list[float]) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save)

    _save_in_threads(committer, store, ["a", "b", "c"])

    assert sleeps == []
    assert store.transactions == [["e-first"], ["e-a", "e-b", "e-c"]]


def test_with_a_window_a_leader_waits_for_company_only_while_others_are_about(
    sleeps: list[float],
) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save, window=0.05)

    # `first` leads alone: no wait. After it, `a` leads while `b` is about: one wait.
    _save_in_threads(committer, store, ["a", "b"])
    assert sleeps == [0.05]
    assert store.transactions == [["e-first"], ["e-a", "e-b"]]

    committer.save(_Aggregate("later"))  # alone again once everyone was answered: no wait
    assert sleeps == [0.05]


@pytest.mark.parametrize("settings", [{"max_events": 0}, {"max_events": -1}, {"window": -0.01}])
def test_a_committer_refuses_an_empty_batch_limit_and_a_negative_window(
    settings: dict[str, float],
) -> None:
    with pytest.raises(ValueError) as refused:
        GroupCommitter(_GatedStore().save, **settings)  # type: ignore[arg-type]
    assert str(refused.value) == "max_events must be at least 1 and window not negative"


def test_a_batch_of_one_event_and_no_window_are_accepted(sleeps: list[float]) -> None:
    store = _GatedStore()
    committer = GroupCommitter(store.save, max_events=1, window=0)

    _save_in_threads(committer, store, ["a", "b"])

    assert store.transactions == [["e-first"], ["e-a"], ["e-b"]]
