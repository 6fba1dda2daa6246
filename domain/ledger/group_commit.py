"""Group commit: the saves of concurrent callers go to the store together, in one transaction.

Why: the event store serialises writers (PostgreSQL's recorder locks the events table from the
insert to the commit, so notification ids are committed in order), so every save waits for the
saves before it and for its own commit to reach the disk. One transaction carrying the events of
many callers pays that wait once for all of them.

How (leader and followers, as PostgreSQL's own WAL does it): a caller hands in its aggregates'
new events and joins a queue. When no commit is in flight it leads: it takes the queue and
saves it in one transaction, then answers every caller in it. While a commit is in flight,
new callers queue up behind it, so batches grow with the load and a lone caller never waits for
company (unless a `window` is configured, and then only while others are about).

Each caller still gets its own answer: its own recordings (so its own positions) or its own
error. Should the combined save fail because of one caller (it lost an optimistic-concurrency
race, or one of its events cannot be stored), the batch is saved caller by caller, so only the
caller at fault gets the error; should the store itself fail (down, restarting), every caller
in the batch, and every caller queued behind it, gets that error at once (an outage answers as
fast as without group commit, instead of queueing callers behind each failing attempt); an `IntegrityError` then sends that caller back through its usual get → command →
save retry, and the others are not disturbed. Two callers changing the same aggregate never
share a batch: the second waits for the next one, where its save meets the usual conflict.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from time import perf_counter
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError

Save = Callable[..., list[Any]]
"""`Application.save`: takes domain events, stores them in one transaction, returns recordings."""
StoredVersion = Callable[[Any], "int | None"]
"""The version of an aggregate's last stored event, None when it has none."""
OnCommit = Callable[[int, int, float], None]
"""Told of each committed transaction: how many callers' saves and events it held, and how many
seconds the store took (set by whoever watches the writes: the metrics, api/metrics/)."""

MAX_EVENTS = 1000  # per transaction: big enough to amortise the commit, small enough to stay quick


class _Ticket:
    """One caller's save: its events, and in time its recordings or its error."""

    __slots__ = ("events", "ids", "recordings", "error", "done")

    def __init__(self, events: list[Any], ids: frozenset[Any]) -> None:
        self.events = events
        self.ids = ids
        self.recordings: list[Any] | None = None
        self.error: BaseException | None = None
        self.done = False


class GroupCommitter:
    def __init__(
        self, save: Save, *, max_events: int = MAX_EVENTS, window: float = 0.0,
        stored_version: StoredVersion | None = None,
    ) -> None:
        """`save` stores events in one transaction (the application's `save`). `window` is how
        long (seconds) a leader waits for company while other callers are about; 0 (the default)
        means it never waits: batches form only from callers that queued while a commit was in
        flight. `stored_version(aggregate id)`, when given, lets a batch that lost a race find
        the callers who lost it, instead of saving every caller alone."""
        if max_events < 1 or window < 0:
            raise ValueError("max_events must be at least 1 and window not negative")
        self._save = save
        self._stored_version = stored_version
        self.max_events = max_events
        self.window = window
        self._queue: deque[_Ticket] = deque()
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        self._leading = False
        self._inside = 0  # callers between handing in and getting their answer
        # What the batches were like, for the benchmark and for anyone curious.
        self.transactions = 0
        self.saves = 0
        self.on_commit: OnCommit | None = None

    def save(self, *aggregates: Any) -> list[Any]:
        """Store the aggregates' new events, together with other callers' if any; returns this
        caller's recordings (in event order), or raises this caller's error."""
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        if not events:
            return []
        ticket = _Ticket(events, frozenset(a.id for a in aggregates))
        with self._lock:
            self._queue.append(ticket)
            self._inside += 1
            try:
                while not ticket.done:
                    if self._leading:
                        self._answered.wait()
                        continue
                    self._leading = True
                    self._lock.release()
                    try:
                        self._lead()
                    finally:
                        self._lock.acquire()
                        self._leading = False
                        self._answered.notify_all()
            finally:
                self._inside -= 1
        if ticket.error is not None:
            raise ticket.error
        assert ticket.recordings is not None
        return ticket.recordings

    def _lead(self) -> None:
        if self.window and self._inside > 1:
            time.sleep(self.window)  # others are about: give them a moment to join
        with self._lock:
            batch = self._take()
        try:
            store_failed = self._commit(batch)
        except BaseException as error:  # interrupted: nobody in the batch may wait forever
            for ticket in batch:
                if not ticket.done:
                    ticket.error, ticket.done = error, True
            raise
        if store_failed is not None:
            # Those who queued meanwhile would only wait for the same failure: they get it now,
            # so that an outage answers fast instead of piling callers up behind each other.
            with self._lock:
                while self._queue:
                    ticket = self._queue.popleft()
                    ticket.error, ticket.done = store_failed, True

    def _take(self) -> list[_Ticket]:
        """The oldest tickets, up to max_events, leaving for later any ticket that touches an
        aggregate already in the batch (the two would conflict for sure)."""
        batch: list[_Ticket] = []
        taken: set[Any] = set()
        size = 0
        kept: list[_Ticket] = []
        while self._queue:
            ticket = self._queue.popleft()
            fits = not batch or size + len(ticket.events) <= self.max_events
            if fits and taken.isdisjoint(ticket.ids):
                batch.append(ticket)
                taken |= ticket.ids
                size += len(ticket.events)
                if size >= self.max_events:
                    break
            else:
                kept.append(ticket)
        self._queue.extendleft(reversed(kept))
        return batch

    def _commit(self, batch: Sequence[_Ticket]) -> Exception | None:
        """Answers every ticket of the batch; returns the store's error when the store failed."""
        self.transactions += 1
        self.saves += len(batch)
        events = [event for ticket in batch for event in ticket.events]
        started = perf_counter()
        try:
            recordings = self._save(*events)
        except Exception as error:
            if not _one_callers_fault(error):
                for ticket in batch:
                    ticket.error, ticket.done = error, True
                return error
            if len(batch) == 1:
                batch[0].error, batch[0].done = error, True
            elif not (isinstance(error, IntegrityError) and self._answer_the_losers(batch, error)):
                self._commit_one_by_one(batch)
            return None
        self._committed(len(batch), len(events), started)
        start = 0
        for ticket in batch:
            end = start + len(ticket.events)
            ticket.recordings, ticket.done = recordings[start:end], True
            start = end
        return None

    def _answer_the_losers(self, batch: Sequence[_Ticket], conflict: Exception) -> bool:
        """The combined save lost an optimistic-concurrency race. The callers whose events no
        longer follow what is stored (a version read each, no lock, no commit) get the conflict,
        and the others are saved together again; saving all of them alone would cost a commit
        each, and a lost race is common when several processes write. False when no caller is
        found out (the race is over, or it was no version conflict): then one by one."""
        if self._stored_version is None:
            return False
        losers = [ticket for ticket in batch if self._is_behind(ticket)]
        if not losers:
            return False
        for ticket in losers:
            ticket.error, ticket.done = conflict, True
        rest = [ticket for ticket in batch if not ticket.done]
        if rest:
            # Answers them all; a store failure reaches them the same way as in a first try.
            self._commit(rest)
        return True

    def _is_behind(self, ticket: _Ticket) -> bool:
        assert self._stored_version is not None
        first_new: dict[Any, int] = {}
        for event in ticket.events:
            first_new.setdefault(event.originator_id, event.originator_version)
        for aggregate_id, version in first_new.items():
            stored = self._stored_version(aggregate_id)
            if stored is not None and stored >= version:
                return True
        return False

    def _commit_one_by_one(self, batch: Sequence[_Ticket]) -> None:
        """The combined save failed: each caller's events alone, so each gets its own answer."""
        for ticket in batch:
            self.transactions += 1
            started = perf_counter()
            try:
                ticket.recordings = self._save(*ticket.events)
            except Exception as error:
                ticket.error = error
            else:
                self._committed(1, len(ticket.events), started)
            ticket.done = True

    def _committed(self, saves: int, events: int, started: float) -> None:
        if self.on_commit is not None:
            self.on_commit(saves, events, perf_counter() - started)


def _one_callers_fault(error: Exception) -> bool:
    """A conflict, or an event that cannot be stored (a shredded key met by the mapper), is one
    caller's: the others may well succeed alone. The store being down or refusing is everyone's:
    saving one by one would only make each caller wait for the same failure again."""
    return isinstance(error, IntegrityError) or not isinstance(error, PersistenceError)
