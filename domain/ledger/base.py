"""What every area of the Ledger stands on: construction (stores, mapper, repositories), the
loads and the save, snapshots of access requests, and get → command → save over the one retry
helper (domain/ledger/retries.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper

from domain.access import AccessRequest
from domain.clock import Clock, SystemClock
from domain.data_request import DataRequest
from domain.disclosure import Disclosure
from domain.errors import NotFound, ReadOnlyLedger, StateConflict
from domain.grants import AccessPolicy
from domain.incident import Incident
from domain.ledger.group_commit import GroupCommitter, OnCommit
from domain.ledger.keys import InMemoryKeyStore, KeyShredded, KeyStore
from domain.ledger.recent_subjects import RecentSubjects
from domain.ledger.retries import retried
from domain.ledger.shredding import ShreddingMapper
from domain.subject import Subject
from domain.tenant import Tenant, TenantStanding, status_set_by

A = TypeVar("A", bound=Aggregate)
SNAPSHOT_EVERY = 50  # events of an access request between two of its snapshots
# (aggregate id, how many, at most this version) → [(version, topic)], newest first.
LastTopics = Callable[[UUID, int, "int | None"], list[tuple[int, str]]]
TAIL = 8  # a tenant's last events read at a time to learn its status (moves come between)


@dataclass(frozen=True)
class Outcome:
    """What a command changed, and the position of its last event for read-your-writes."""

    aggregate: Any
    position: int


class LedgerBase(Application[UUID]):
    # A read grant may be used (or refused) thousands of times: its decisions load from its
    # last snapshot. Only access requests are snapshotted (their state holds nothing
    # personal), through a repository of their own, so loading anything else costs no look
    # for a snapshot.
    is_snapshotting_enabled = True

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        keys: KeyStore | None = None,
        clock: Clock | None = None,
        policy: AccessPolicy | None = None,
        group_commit: bool | None = None,
        read_only: bool = False,
    ) -> None:
        """`group_commit`: commit concurrent callers' saves together (domain/ledger/group_commit.py);
        None means on for the durable stores (SQLite and PostgreSQL), where waiting for the
        commit dominates and sharing it multiplies the write rate (docs/benchmarks.md), and off
        in memory, where there is no commit to share. `read_only`: every save is refused
        (ReadOnlyLedger) before it reaches the store."""
        self.read_only = read_only
        self.keys: KeyStore = keys if keys is not None else InMemoryKeyStore()
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or AccessPolicy()
        super().__init__(env)
        if group_commit is None:
            group_commit = type(self.factory).__module__ != "eventsourcing.popo"
        self.group_commit = (
            GroupCommitter(self._put, stored_version=self._stored_version) if group_commit
            else None
        )
        self.recent_subjects = RecentSubjects()
        self.access_requests = Repository(self.events, snapshot_store=self.snapshots)
        self._on_commit: OnCommit | None = None
        self.last_topics: LastTopics = self._last_topics_from_the_recorder

    def read_last_topics_with(self, reader: LastTopics) -> None:
        """How `_tenant_standing` reads an aggregate's last topics. The recorder's own read is
        the default; a store can give a cheaper one (projections/storage/event_topics.py: one
        indexed statement on the store's own connections, without the library's transaction,
        which cost a quarter of a consent write's time)."""
        self.last_topics = reader

    def _last_topics_from_the_recorder(
        self, aggregate_id: UUID, limit: int, at_most: int | None
    ) -> list[tuple[int, str]]:
        tail = self.recorder.select_events(aggregate_id, desc=True, limit=limit, lte=at_most)
        return [(stored.originator_version, stored.topic) for stored in tail]

    def watch_commits(self, on_commit: OnCommit | None) -> None:
        """`on_commit(saves, events, seconds)` is told of every transaction that stores events,
        with group commit or without (then each save is a transaction of one)."""
        self._on_commit = on_commit
        if self.group_commit is not None:
            self.group_commit.on_commit = on_commit

    def construct_repository(self) -> Repository[UUID]:
        return Repository(self.events)

    def construct_mapper(self) -> Mapper[UUID]:
        return ShreddingMapper(
            self.construct_transcoder(),
            self.keys,
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
        )

    def now(self) -> datetime:
        return self.clock.now()

    # Each aggregate by its id: NotFound when there is none of that kind.
    def tenant(self, tenant_id: UUID) -> Tenant:
        return self._load(tenant_id, Tenant)

    def subject(self, subject_id: UUID) -> Subject:
        return self._load(subject_id, Subject)

    def access_request(self, request_id: UUID) -> AccessRequest:
        return self._load(request_id, AccessRequest)

    def data_request(self, request_id: UUID) -> DataRequest:
        return self._load(request_id, DataRequest)

    def incident(self, incident_id: UUID) -> Incident:
        return self._load(incident_id, Incident)

    def disclosure(self, disclosure_id: UUID) -> Disclosure:
        return self._load(disclosure_id, Disclosure)

    def _load(self, aggregate_id: UUID, kind: type[A]) -> A:
        repository = self.access_requests if kind is AccessRequest else self.repository
        try:
            aggregate = repository.get(aggregate_id, projector_func=_replay)
        except AggregateNotFoundError:
            raise NotFound(f"no {_noun(kind)} with id {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"no {_noun(kind)} with id {aggregate_id}")
        return aggregate

    # Get → command → save, the save retried from a fresh read when another writer got there first.
    def _change(self, aggregate_id: UUID, kind: type[A], command: Callable[[A], Any]) -> Outcome:
        def attempt() -> Outcome:
            aggregate = self._load(aggregate_id, kind)
            command(aggregate)
            return Outcome(aggregate, self._save(aggregate))

        return retried(attempt, f"the {_noun(kind)}")

    def _change_if_due(
        self, aggregate_id: UUID, kind: type[A], command: Callable[[A], bool]
    ) -> Outcome | None:
        """For what time (or another change) may have made due: `command` answers False when
        nothing was, and then nothing is saved (so a second run is a no-op)."""

        def attempt() -> Outcome | None:
            aggregate = self._load(aggregate_id, kind)
            if not command(aggregate):
                return None
            return Outcome(aggregate, self._save(aggregate))

        return retried(attempt, f"the {_noun(kind)}")

    def _save(self, *aggregates: Aggregate) -> int:
        if self.read_only:
            raise ReadOnlyLedger("this ledger was opened to read only")
        for aggregate in aggregates:
            # Whatever changes a subject makes the copy kept for consent decisions stale;
            # the consent path puts its own copy back after its save.
            self.recent_subjects.forget(aggregate.id)
        # The versions before this save: its events are pending, already counted in `version`.
        versions = [(a, a.version - len(a.pending_events)) for a in aggregates]
        if self.group_commit is not None:
            recordings = self.group_commit.save(*aggregates)
        else:
            started = time.perf_counter()
            recordings = self.save(*aggregates)
            if self._on_commit is not None and recordings:
                self._on_commit(1, len(recordings), time.perf_counter() - started)
        if not recordings:
            raise StateConflict("nothing changed")
        for aggregate, version in versions:
            self._snapshot_if_due(aggregate, version)
        return recordings[-1].notification.id

    def _put(self, *events: Any) -> list[Any]:
        """What `save` does for this application (it keeps no aggregate cache and takes no
        snapshots), given the events themselves, without the runtime protocol check `save`
        makes per event (slower than mapping the event)."""
        if self.snapshotting_intervals or self.repository.cache is not None:
            return self.save(*events)
        return self.events.put(list(events))

    def _stored_version(self, aggregate_id: UUID) -> int | None:
        last = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return last[0].originator_version if last else None

    def _snapshot_if_due(self, aggregate: Aggregate, before: int) -> None:
        """A snapshot of an access request each SNAPSHOT_EVERY events, from the state just
        saved (nothing to load). Only a cost: a lost snapshot means a longer replay."""
        if not isinstance(aggregate, AccessRequest) or self.snapshots is None:
            return
        if aggregate.version // SNAPSHOT_EVERY > before // SNAPSHOT_EVERY:
            self.snapshots.put([AccessRequest.Snapshot.take(aggregate)])

    # What the rules need to know, read without replaying
    def _ensure_key(self, subject_id: UUID) -> None:
        """A subject whose key is gone (erased, or its tenant purged) gets no new events,
        even ones that happen to carry no personal value."""
        if self.keys.get(subject_id) is None:
            if not self.recorder.select_events(subject_id, limit=1):
                raise NotFound(f"no subject with id {subject_id}")  # never was: not "erased"
            raise KeyShredded()

    def _tenant_standing(self, tenant_id: UUID | None) -> TenantStanding | None:
        """The tenant's standing from the topics of its last events (nothing decoded): every
        consent write asks it, and replaying the tenant would decrypt its name each time."""
        if tenant_id is None:
            return None
        below: int | None = None
        limit = 1  # the last event tells, unless it was a move
        while True:
            tail = self.last_topics(tenant_id, limit, below)
            for _, topic in tail:
                status = status_set_by(topic)
                if status is not None:
                    return TenantStanding(status)
            if len(tail) < limit:
                raise NotFound(f"no tenant with id {tenant_id}")
            below, limit = tail[-1][0] - 1, TAIL


def _replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` against a runtime
    Protocol, which costs more than applying the event (docs/benchmarks.md)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _noun(kind: type) -> str:
    return {
        "AccessRequest": "access request",
        "DataRequest": "subject's request",
    }.get(kind.__name__, kind.__name__.lower())
