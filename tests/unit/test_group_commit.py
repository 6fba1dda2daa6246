"""Group commit (domain/ledger/group_commit.py): concurrent saves go to the store together, and each
caller still gets its own answer: its own positions, or its own error."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from domain.ledger import Ledger
from domain.ledger.group_commit import GroupCommitter, _Ticket


class _Event:
    def __init__(self, name: str) -> None:
        self.name = name


class _Aggregate:
    def __init__(self, ident: str, *names: str) -> None:
        self.id = ident
        self._pending = [_Event(name) for name in names]

    def collect_events(self) -> list[_Event]:
        pending, self._pending = self._pending, []
        return pending


class _Store:
    """Stores events in one 'transaction' per call; refuses a whole call holding a poisoned event
    (as a unique-key violation would), after a pause so that callers pile up behind it."""

    def __init__(self, poisoned: set[str] = frozenset(), pause: float = 0.0) -> None:
        self.poisoned = poisoned
        self.pause = pause
        self.stored: list[str] = []
        self.transactions: list[list[str]] = []
        self.lock = threading.Lock()

    def save(self, *events: _Event) -> list[tuple[str, int]]:
        threading.Event().wait(self.pause)
        with self.lock:
            names = [event.name for event in events]
            self.transactions.append(names)
            if self.poisoned & set(names):
                raise IntegrityError("duplicate key")
            positions = []
            for name in names:
                self.stored.append(name)
                positions.append((name, len(self.stored)))
            return positions


def _together(callers: int, work: Any) -> list[Any]:
    answers: list[Any] = [None] * callers
    start = threading.Barrier(callers)

    def run(number: int) -> None:
        start.wait()
        try:
            answers[number] = work(number)
        except Exception as error:
            answers[number] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_each_of_many_threads_gets_the_positions_of_its_own_events() -> None:
    store = _Store(pause=0.005)
    committer = GroupCommitter(store.save)

    answers = _together(16, lambda n: committer.save(_Aggregate(f"a{n}", f"e{n}.1", f"e{n}.2")))

    for number, recordings in enumerate(answers):
        assert [name for name, _ in recordings] == [f"e{number}.1", f"e{number}.2"]
        first, second = (position for _, position in recordings)
        assert store.stored[first - 1] == f"e{number}.1" and second == first + 1
    assert sorted(store.stored) == sorted(f"e{n}.{k}" for n in range(16) for k in (1, 2))
    assert len(store.transactions) < 16  # some callers really did share a transaction


def test_a_conflicting_save_fails_only_its_own_caller() -> None:
    store = _Store(poisoned={"e3"}, pause=0.005)
    committer = GroupCommitter(store.save)

    answers = _together(12, lambda n: committer.save(_Aggregate(f"a{n}", f"e{n}")))

    assert isinstance(answers[3], IntegrityError)
    for number, answer in enumerate(answers):
        if number != 3:
            assert [name for name, _ in answer] == [f"e{number}"], answer
    assert sorted(store.stored) == sorted(f"e{n}" for n in range(12) if n != 3)


class _VersionedEvent(_Event):
    def __init__(self, name: str, originator_id: str, originator_version: int) -> None:
        super().__init__(name)
        self.originator_id, self.originator_version = originator_id, originator_version


def _tickets(count: int) -> list[_Ticket]:
    """One caller each, every caller writing version 2 of its own aggregate."""
    return [
        _Ticket([_VersionedEvent(f"e{n}", f"a{n}", 2)], frozenset({f"a{n}"}))
        for n in range(count)
    ]


def test_a_batch_that_lost_a_race_fails_the_loser_and_commits_the_rest_together() -> None:
    store = _Store(poisoned={"e3"})
    stored_versions = {"a3": 2}  # another process wrote a3's version 2 first
    committer = GroupCommitter(store.save, stored_version=stored_versions.get)
    tickets = _tickets(6)

    committer._commit(tickets)

    assert isinstance(tickets[3].error, IntegrityError)
    assert [t.recordings is not None for t in tickets] == [True, True, True, False, True, True]
    assert store.transactions == [
        ["e0", "e1", "e2", "e3", "e4", "e5"], ["e0", "e1", "e2", "e4", "e5"]
    ]


def test_without_a_way_to_find_the_loser_every_caller_is_saved_alone() -> None:
    store = _Store(poisoned={"e3"})
    committer = GroupCommitter(store.save)
    tickets = _tickets(4)

    committer._commit(tickets)

    assert isinstance(tickets[3].error, IntegrityError)
    assert store.transactions == [["e0", "e1", "e2", "e3"], ["e0"], ["e1"], ["e2"], ["e3"]]


def test_two_saves_of_one_aggregate_never_share_a_transaction() -> None:
    store = _Store(pause=0.005)
    committer = GroupCommitter(store.save)

    _together(8, lambda n: committer.save(_Aggregate("same", f"e{n}")))

    assert all(len(names) == 1 for names in store.transactions)
    assert len(store.stored) == 8


def test_a_lone_caller_commits_at_once_in_a_transaction_of_its_own() -> None:
    store = _Store()
    committer = GroupCommitter(store.save)

    assert committer.save(_Aggregate("a", "e1")) == [("e1", 1)]
    assert committer.save(_Aggregate("a")) == []  # nothing pending: nothing stored
    assert store.transactions == [["e1"]]


@pytest.mark.parametrize("callers", [8, 24])
def test_concurrent_consents_through_the_ledger_each_get_their_own_position(callers: int) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, group_commit=True)
    subjects = [
        ledger.register_subject("Jan", f"jan{n}@example.org", "crm").aggregate.id
        for n in range(callers)
    ]

    answers = _together(callers, lambda n: ledger.give_consent(
        subjects[n], "info_mail", "web_form", "2026-01", "crm"
    ))

    positions = [answer.position for answer in answers]
    assert len(set(positions)) == callers
    for subject, position in zip(subjects, positions):
        notification = ledger.recorder.select_notifications(position, 1)[0]
        assert notification.originator_id == subject
        assert ledger.subject(subject).is_allowed("info_mail")


def test_an_error_in_one_command_reaches_only_its_caller() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, group_commit=True)
    subjects = [
        ledger.register_subject("Jan", f"jan{n}@example.org", "crm").aggregate.id
        for n in range(6)
    ]
    ledger.erase_subject(subjects[2], "officer")

    answers = _together(6, lambda n: ledger.give_consent(
        subjects[n], "info_mail", "web_form", "2026-01", "crm"
    ))

    assert type(answers[2]).__name__ == "KeyShredded"
    assert all(ledger.subject(s).is_allowed("info_mail") for n, s in enumerate(subjects) if n != 2)


def test_a_store_failure_reaches_every_waiting_caller_at_once_and_is_not_retried_one_by_one() -> None:
    from eventsourcing.persistence import OperationalError

    calls: list[int] = []

    def failing(*events: Any) -> list[Any]:
        calls.append(len(events))
        threading.Event().wait(0.005)
        raise OperationalError("server closed the connection")

    committer = GroupCommitter(failing)
    answers = _together(10, lambda n: committer.save(_Aggregate(f"a{n}", f"e{n}")))

    assert all(isinstance(answer, OperationalError) for answer in answers)
    # Nobody's events were tried twice; those queued behind a failed attempt were told at once.
    assert sum(calls) <= 10
