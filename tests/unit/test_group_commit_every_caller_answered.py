"""Group commit (domain/ledger/group_commit.py): when a combined save is refused, every caller of the
batch still gets its own answer, and none is left waiting. Found by `make mutate`: a batch that
conflicted with nobody behind it (the race was over by the time the versions were read), and a
batch saved caller by caller, could leave its callers waiting forever with every test green."""

from __future__ import annotations

import threading
import time
from typing import Any

from eventsourcing.persistence import IntegrityError

from domain.ledger.group_commit import GroupCommitter

DEADLINE = 5.0


class _Event:
    def __init__(self, name: str, originator_id: str) -> None:
        self.name = name
        self.originator_id, self.originator_version = originator_id, 2


class _Aggregate:
    """`ident`'s events ("e-ident", or "e-ident.1", "e-ident.2", ... when there are several),
    for the aggregate `ident` unless another `aggregate_id` is given."""

    def __init__(self, ident: str, events: int = 1, aggregate_id: str | None = None) -> None:
        self.name, self.id = ident, aggregate_id or ident
        names = [f"e-{ident}"] if events == 1 else [f"e-{ident}.{n}" for n in range(1, events + 1)]
        self._pending = [_Event(name, self.id) for name in names]

    def collect_events(self) -> list[_Event]:
        pending, self._pending = self._pending, []
        return pending


class _GatedStore:
    """Holds its first save until `go` is set, so that other callers queue up behind it and
    are then taken as one batch; refuses any save holding the poisoned event."""

    def __init__(self, poisoned: str = "", refusal: BaseException | None = None) -> None:
        self.poisoned = poisoned
        self.refusal = refusal or IntegrityError("duplicate key")
        self.inside_first = threading.Event()
        self.go = threading.Event()
        self.transactions: list[list[str]] = []
        self.stored: list[str] = []
        self.lock = threading.Lock()

    def save(self, *events: _Event) -> list[tuple[str, int]]:
        if not self.inside_first.is_set():
            self.inside_first.set()
            self.go.wait(DEADLINE)
        with self.lock:
            names = [event.name for event in events]
            self.transactions.append(names)
            if self.poisoned in names:
                raise self.refusal
            self.stored.extend(names)
            return [(name, self.stored.index(name) + 1) for name in names]


def _save_in_threads(
    committer: GroupCommitter, store: _GatedStore, late: list[str | _Aggregate]
) -> dict[str, Any]:
    """`first` leads and is held in the store; `late` callers (by name, or their aggregates)
    queue behind it in this order, and form the next batches. Returns each caller's answer
    (recordings or error) by name, or "no answer" if it was left waiting."""
    answers: dict[str, Any] = {}
    aggregates = {a if isinstance(a, str) else a.name: a for a in late}

    def call(ident: str) -> None:
        aggregate = aggregates.get(ident, ident)
        try:
            answers[ident] = committer.save(
                _Aggregate(aggregate) if isinstance(aggregate, str) else aggregate
            )
        except BaseException as error:  # an interruption too: it is the caller's answer
            answers[ident] = error

    threads = [threading.Thread(target=call, args=("first",), daemon=True)]
    threads[0].start()
    assert store.inside_first.wait(DEADLINE)
    deadline = time.monotonic() + DEADLINE
    for queued, ident in enumerate(aggregates, start=2):
        thread = threading.Thread(target=call, args=(ident,), daemon=True)
        threads.append(thread)
        thread.start()
        while committer._inside < queued:  # queued in this order before the next one starts
            assert time.monotonic() < deadline, f"{ident} never queued"
            threading.Event().wait(0.001)
    store.go.set()  # every late caller is queued: the first commits, the late ones follow
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return {ident: answers.get(ident, "no answer") for ident in ["first", *aggregates]}


def _positions(answer: Any) -> list[str]:
    assert isinstance(answer, list), answer
    return [name for name, _ in answer]


def test_a_refused_batch_where_no_caller_is_behind_answers_each_caller_on_its_own() -> None:
    # The versions read after the conflict show nobody behind (the race is over, or the refusal
    # was no version conflict): each caller is saved alone, and each gets its own answer.
    store = _GatedStore(poisoned="e-bad")
    committer = GroupCommitter(store.save, stored_version=lambda aggregate_id: None)

    answers = _save_in_threads(committer, store, ["good", "bad", "also-good"])

    assert _positions(answers["first"]) == ["e-first"]
    assert _positions(answers["good"]) == ["e-good"]
    assert _positions(answers["also-good"]) == ["e-also-good"]
    assert isinstance(answers["bad"], IntegrityError)
    assert sorted(store.stored) == ["e-also-good", "e-first", "e-good"]
    assert store.transactions[1:] == [
        ["e-good", "e-bad", "e-also-good"], ["e-good"], ["e-bad"], ["e-also-good"]
    ]


def test_a_refused_batch_without_version_reads_answers_each_caller_on_its_own() -> None:
    store = _GatedStore(poisoned="e-bad")
    committer = GroupCommitter(store.save)

    answers = _save_in_threads(committer, store, ["bad", "good"])

    assert isinstance(answers["bad"], IntegrityError)
    assert _positions(answers["good"]) == ["e-good"]
    assert sorted(store.stored) == ["e-first", "e-good"]


def test_a_lone_caller_whose_save_is_refused_gets_the_refusal_after_one_try() -> None:
    store = _GatedStore(poisoned="e-bad")
    committer = GroupCommitter(store.save, stored_version=lambda aggregate_id: None)

    answers = _save_in_threads(committer, store, ["bad"])  # a batch of one: nobody else to blame

    assert isinstance(answers["bad"], IntegrityError)
    assert store.transactions[1:] == [["e-bad"]]


class _Interrupted(BaseException):
    """What reaches the leader in the middle of a commit when its thread is interrupted."""


def test_an_interrupted_commit_answers_every_caller_in_its_batch() -> None:
    interruption = _Interrupted()
    store = _GatedStore(poisoned="e-bad", refusal=interruption)
    committer = GroupCommitter(store.save)

    answers = _save_in_threads(committer, store, ["good", "bad"])

    assert answers["good"] is interruption and answers["bad"] is interruption
    assert _positions(answers["first"]) == ["e-first"]
