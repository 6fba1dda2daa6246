"""The Ledger: one eventsourcing Application, so every event has one place in one global order.

Each command follows get → command → save. A save that loses an optimistic-concurrency race
is retried from a fresh read, so concurrent callers each get their own answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper
from eventsourcing.utils import get_topic

from domain.access import AccessPolicy, AccessRequest
from domain.clock import Clock, SystemClock
from domain.data_request import DataRequest
from domain.disclosure import Disclosure
from domain import values
from domain.erasure import subject_for_erasure
from domain.errors import AccessRefused, InvalidInput, NotFound, StateConflict
from domain.group_commit import GroupCommitter
from domain.incident import Incident
from domain.keys import InMemoryKeyStore, KeyShredded, KeyStore
from domain.recent_subjects import RecentSubjects
from domain.shredding import ShreddingMapper
from domain.subject import Subject
from domain.tenant import Tenant, status_set_by
from domain.values import DataRequestKind
from domain.vendor_read import VendorRead

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")
_SUBJECT_REGISTERED = get_topic(Subject.Registered)
MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class Outcome:
    """What a command changed, and the position of its last event for read-your-writes."""

    aggregate: Any
    position: int


SNAPSHOT_EVERY = 50  # events of an access request between two of its snapshots
TAIL = 8  # a tenant's last events read at a time to learn its status (moves come between)


class Ledger(Application[UUID]):
    name = "ledger"
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
    ) -> None:
        """`group_commit`: commit concurrent callers' saves together (domain/group_commit.py);
        None means on for the durable stores (SQLite and PostgreSQL), where waiting for the
        commit dominates and sharing it multiplies the write rate (docs/benchmarks.md), and off
        in memory, where there is no commit to share."""
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

    def construct_repository(self) -> Repository[UUID]:
        return Repository(self.events)

    def construct_mapper(self) -> Mapper[UUID]:
        return ShreddingMapper(
            self.construct_transcoder(),
            self.keys,
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
        )

    # Plumbing: get → command → save, retried when another writer got there first.
    def now(self) -> datetime:
        return self.clock.now()

    def _load(self, aggregate_id: UUID, kind: type[A]) -> A:
        repository = self.access_requests if kind is AccessRequest else self.repository
        try:
            aggregate = repository.get(aggregate_id, projector_func=_replay)
        except AggregateNotFoundError:
            raise NotFound(f"no {_noun(kind)} with id {aggregate_id}") from None
        if not isinstance(aggregate, kind):
            raise NotFound(f"no {_noun(kind)} with id {aggregate_id}")
        return aggregate

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

    def _save(self, *aggregates: Aggregate) -> int:
        for aggregate in aggregates:
            # Whatever changes a subject makes the copy kept for consent decisions stale;
            # the consent path puts its own copy back after its save.
            self.recent_subjects.forget(aggregate.id)
        # The versions before this save: its events are pending, already counted in `version`.
        versions = [(a, a.version - len(a.pending_events)) for a in aggregates]
        if self.group_commit is not None:
            recordings = self.group_commit.save(*aggregates)
        else:
            recordings = self.save(*aggregates)
        if not recordings:
            raise StateConflict("nothing changed")
        for aggregate, version in versions:
            self._snapshot_if_due(aggregate, version)
        return recordings[-1].notification.id

    def _snapshot_if_due(self, aggregate: Aggregate, before: int) -> None:
        """A snapshot of an access request each SNAPSHOT_EVERY events, from the state just
        saved (nothing to load). Only a cost: a lost snapshot means a longer replay."""
        if not isinstance(aggregate, AccessRequest) or self.snapshots is None:
            return
        if aggregate.version // SNAPSHOT_EVERY > before // SNAPSHOT_EVERY:
            self.snapshots.put([AccessRequest.Snapshot.take(aggregate)])

    def _change(
        self, aggregate_id: UUID, kind: type[A], command: Callable[[A], Any]
    ) -> Outcome:
        for attempt in range(MAX_ATTEMPTS):
            aggregate = self._load(aggregate_id, kind)
            command(aggregate)
            try:
                return Outcome(aggregate, self._save(aggregate))
            except IntegrityError:
                _back_off(attempt)  # someone else wrote first: read again and re-decide
        raise StateConflict(f"the {_noun(kind)} is changing too fast; try again")

    def _decide_consent(self, subject_id: UUID, command: Callable[[Subject], Any]) -> Outcome:
        """`_change` for the most frequent write: the subject comes from the copy this process
        saved a moment ago when there is one (domain/recent_subjects.py says why that is safe),
        and the copy is kept again after the save."""
        self._ensure_key(subject_id)
        for attempt in range(MAX_ATTEMPTS):
            subject = self.recent_subjects.take(subject_id)
            kept = subject is not None
            if subject is None:
                subject = self._load(subject_id, Subject)
            command(subject)
            try:
                position = self._save(subject)
            except IntegrityError:
                if not kept:  # a stale copy is simply read again, at once
                    _back_off(attempt)
                continue
            self.recent_subjects.put(subject)
            return Outcome(subject, position)
        raise StateConflict("the subject is changing too fast; try again")

    def _retrying(self, attempt: Callable[[], R]) -> R:
        for number in range(MAX_ATTEMPTS):
            try:
                return attempt()
            except IntegrityError:
                _back_off(number)
        raise StateConflict("too many concurrent changes; try again")

    def _ensure_key(self, subject_id: UUID) -> None:
        """A subject whose key is gone (erased, or its tenant purged) gets no new events,
        even ones that happen to carry no personal value."""
        if self.keys.get(subject_id) is None:
            if not self.recorder.select_events(subject_id, limit=1):
                raise NotFound(f"no subject with id {subject_id}")  # never was: not "erased"
            raise KeyShredded()

    # Tenants
    def open_tenant(self, name: str, actor: str, location: str | None = None) -> Outcome:
        tenant = Tenant.open(name, location, actor, self.now())
        self.keys.create(tenant.id, tenant_id=tenant.id)
        return Outcome(tenant, self._save(tenant))

    def tenant(self, tenant_id: UUID) -> Tenant:
        return self._load(tenant_id, Tenant)

    def terminate_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        return self._change(tenant_id, Tenant, lambda t: t.terminate(actor, self.now()))

    def reactivate_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        return self._change(tenant_id, Tenant, lambda t: t.reactivate(actor, self.now()))

    def purge_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        """After the grace period the keys of the tenant and of all its subjects are destroyed,
        which makes every personal field unreadable at once, then the purge event is written.

        Keys first, as with erasure: should the event fail to be written, the tenant is still
        terminated, a retry passes the rules again and writes it; the other way round a
        failure would leave a purged tenant whose keys nobody would ever shred."""
        self.tenant(tenant_id).purge(actor, self.now())  # the rules, before anything is lost
        self.keys.shred_tenant(tenant_id)
        self.recent_subjects.forget_where(lambda s: s.tenant_id == tenant_id)
        return self._change(tenant_id, Tenant, lambda t: t.purge(actor, self.now()))

    def move_tenant_location(
        self, tenant_id: UUID, location: str, reason: str | None, actor: str
    ) -> Outcome:
        return self._change(
            tenant_id, Tenant, lambda t: t.move_location(location, reason, actor, self.now())
        )

    # Subjects and consent
    def register_subject(
        self, name: str, email: str, actor: str, tenant_id: UUID | None = None,
        phone: str | None = None,
    ) -> Outcome:
        if tenant_id is not None:
            self.tenant(tenant_id).ensure_active()
        subject = Subject.register(tenant_id, name, email, phone, actor, self.now())
        self.keys.create(subject.id, tenant_id=tenant_id)
        return Outcome(subject, self._save(subject))

    def subject(self, subject_id: UUID) -> Subject:
        return self._load(subject_id, Subject)

    def rectify_subject(
        self, subject_id: UUID, actor: str, name: str | None = None,
        email: str | None = None, phone: str | None = None,
    ) -> Outcome:
        self._ensure_key(subject_id)
        return self._change(
            subject_id, Subject,
            lambda s: s.rectify(actor, self.now(), name=name, email=email, phone=phone),
        )

    def _tenant_status(self, tenant_id: UUID | None) -> str | None:
        """The tenant's status from the topics of its last events (nothing decoded): every
        consent write asks it, and replaying the tenant would decrypt its name each time."""
        if tenant_id is None:
            return None
        below: int | None = None
        limit = 1  # the last event tells, unless it was a move
        while True:
            tail = self.recorder.select_events(tenant_id, desc=True, limit=limit, lte=below)
            for stored in tail:
                status = status_set_by(stored.topic)
                if status is not None:
                    return status
            if len(tail) < limit:
                raise NotFound(f"no tenant with id {tenant_id}")
            below, limit = tail[-1].originator_version - 1, TAIL

    def give_consent(
        self, subject_id: UUID, purpose: str, method: str, notice_version: str, actor: str,
        channel: str | None = None, ip_address: str | None = None,
    ) -> Outcome:
        return self._decide_consent(
            subject_id,
            lambda s: s.give_consent(
                purpose, method, notice_version, actor, self.now(), channel, ip_address,
                tenant_status=self._tenant_status(s.tenant_id),
            ),
        )

    def withdraw_consent(
        self, subject_id: UUID, purpose: str, method: str, actor: str,
        channel: str | None = None, notice_version: str | None = None,
        ip_address: str | None = None,
    ) -> Outcome:
        return self._decide_consent(
            subject_id,
            lambda s: s.withdraw_consent(
                purpose, method, actor, self.now(), channel, notice_version, ip_address,
                tenant_status=self._tenant_status(s.tenant_id),
            ),
        )

    def withdraw_consent_if_given(
        self, subject_id: UUID, purpose: str, method: str, actor: str,
        channel: str | None = None,
    ) -> Outcome | None:
        """None when there was nothing to withdraw (never given, or withdrawn already)."""
        self._ensure_key(subject_id)
        return self._maybe(
            subject_id, Subject,
            lambda s: s.withdraw_consent_if_given(purpose, method, actor, self.now(), channel),
        )

    def consent_answer(
        self, subject_id: UUID, purpose: str, channel: str | None = None
    ) -> dict[str, Any]:
        """"May I?" from the subject's own events: for when the read side has not yet seen
        the subject's last event (a decision just answered on another process)."""
        subject = self.subject(subject_id)
        return subject.consent_answer(purpose, channel, self._tenant_status(subject.tenant_id))

    def erase_subject(
        self, subject_id: UUID, actor: str, request_id: UUID | None = None
    ) -> Outcome:
        """The key goes first: from that moment nothing of the person can be read, even if
        the fence event has yet to be written (a retry writes it). It costs the same however
        long the history: only the first and the last events are read (domain/erasure.py)."""

        def erase() -> Outcome:
            subject = subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id)
            subject.erase(actor, self.now(), request_id)
            return Outcome(subject, self._save(subject))

        # The rules, before anything is lost.
        subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id).erase(
            actor, self.now(), request_id
        )
        self.keys.shred(subject_id)
        self.recent_subjects.forget(subject_id)  # no decrypted copy outlives the key
        return self._retrying(erase)

    def record_erasure_final(
        self, subject_id: UUID, at: datetime, last_key_epoch: int
    ) -> Outcome | None:
        """The epoch close destroyed the last key-encryption key of the subject's data key;
        None when that was recorded already. Reads no history (domain/erasure.py)."""

        def record() -> Outcome | None:
            subject = subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id)
            if not subject.record_erasure_final(at, last_key_epoch):
                return None
            return Outcome(subject, self._save(subject))

        return self._retrying(record)

    def record_purge_final(
        self, tenant_id: UUID, at: datetime, last_key_epoch: int
    ) -> Outcome | None:
        return self._maybe(
            tenant_id, Tenant, lambda t: t.record_purge_final(at, last_key_epoch)
        )

    def subject_events(self, subject_id: UUID, until: datetime | None = None) -> Iterator[Any]:
        self.subject(subject_id)
        for event in self.events.get(subject_id):
            if until is not None and event.timestamp > until:
                return
            yield event

    def subject_as_of(self, subject_id: UUID, moment: datetime) -> Subject | None:
        """The subject as it stood at `moment`, from its own events (erased fields stay erased)."""
        subject: Subject | None = None
        for event in self.subject_events(subject_id, until=moment):
            subject = event.mutate(subject)
        return subject

    # Staff access to a tenant's data
    def request_access(
        self, tenant_id: UUID, requester: str, scope: str, resources: list[str],
        reason: str, ticket: str | None = None, duration_minutes: int | None = None,
    ) -> Outcome:
        request = AccessRequest.ask(
            self.tenant(tenant_id), requester, scope, resources, reason, ticket,
            duration_minutes, self.now(), self.policy,
        )
        return Outcome(request, self._save(request))

    def access_request(self, request_id: UUID) -> AccessRequest:
        return self._load(request_id, AccessRequest)

    def approve_access(
        self, request_id: UUID, approver: str, duration_minutes: int | None = None,
        scope: str | None = None, resources: list[str] | None = None,
    ) -> Outcome:
        def approve(request: AccessRequest) -> None:
            request.approve(
                approver, self.tenant(request.tenant_id), self.now(),
                duration_minutes=duration_minutes, scope=scope, resources=resources,
            )

        return self._change(request_id, AccessRequest, approve)

    def deny_access(self, request_id: UUID, actor: str, reason: str) -> Outcome:
        return self._change(
            request_id, AccessRequest, lambda r: r.deny(actor, reason, self.now())
        )

    def revoke_access(self, request_id: UUID, actor: str, reason: str) -> Outcome:
        return self._change(
            request_id, AccessRequest, lambda r: r.revoke(actor, reason, self.now())
        )

    def use_access(
        self, request_id: UUID, actor: str, resource: str, action: str
    ) -> Outcome:
        """Records the access, or records the refusal and then raises AccessRefused."""
        refusal: list[str | None] = []

        def use(request: AccessRequest) -> None:
            refusal[:] = [
                request.use(actor, resource, action, self.tenant(request.tenant_id), self.now())
            ]

        outcome = self._change(request_id, AccessRequest, use)
        if refusal[0] is not None:
            raise AccessRefused(refusal[0], outcome.position)
        return outcome

    def expire_access_request(self, request_id: UUID) -> Outcome | None:
        return self._maybe(request_id, AccessRequest, lambda r: r.expire_if_due(self.now()))

    def end_access_with_tenancy(self, request_id: UUID, actor: str) -> Outcome | None:
        """Ends the request if its tenant's termination ended its tenancy; None if not."""
        return self._maybe(
            request_id, AccessRequest,
            lambda r: r.end_with_tenancy(self.tenant(r.tenant_id), actor, self.now()),
        )

    def end_grant(self, request_id: UUID) -> Outcome | None:
        return self._maybe(request_id, AccessRequest, lambda r: r.end_grant_if_due(self.now()))

    def _maybe(
        self, aggregate_id: UUID, kind: type[A], command: Callable[[A], bool]
    ) -> Outcome | None:
        """For the sweep: apply what time has made due, or nothing (so a second run is a no-op)."""
        for _ in range(MAX_ATTEMPTS):
            aggregate = self._load(aggregate_id, kind)
            if not command(aggregate):
                return None
            try:
                return Outcome(aggregate, self._save(aggregate))
            except IntegrityError:
                continue
        raise StateConflict(f"the {_noun(kind)} is changing too fast; try again")

    # Subjects' requests
    def receive_data_request(
        self, subject_id: UUID, kind: str, channel: str, actor: str, details: str | None = None,
        received_at: datetime | None = None,
    ) -> Outcome:
        def receive() -> Outcome:
            subject = self.subject(subject_id)
            if not subject.erased:
                self._ensure_key(subject_id)
            request = DataRequest.receive(
                subject_id, subject.tenant_id, kind, channel, details, actor, self.now(),
                received_at,
            )
            subject.open_request(request.kind, request.id, self.now())
            return Outcome(request, self._save(request, subject))

        return self._retrying(receive)

    def data_request(self, request_id: UUID) -> DataRequest:
        return self._load(request_id, DataRequest)

    def verify_identity(self, request_id: UUID, method: str, actor: str) -> Outcome:
        return self._change(
            request_id, DataRequest, lambda r: r.verify_identity(method, actor, self.now())
        )

    def extend_data_request(
        self, request_id: UUID, months: int, reason: str, actor: str
    ) -> Outcome:
        return self._change(
            request_id, DataRequest, lambda r: r.extend(months, reason, actor, self.now())
        )

    def quote_data_request(
        self, request_id: UUID, amount_cents: int, currency: str, actor: str
    ) -> Outcome:
        return self._change(
            request_id, DataRequest,
            lambda r: r.quote_fee(amount_cents, currency, actor, self.now()),
        )

    def accept_quote(self, request_id: UUID, actor: str) -> Outcome:
        return self._change(request_id, DataRequest, lambda r: r.accept_quote(actor, self.now()))

    def decline_quote(self, request_id: UUID, actor: str) -> Outcome:
        return self._closing(request_id, lambda r: r.decline_quote(actor, self.now()))

    def reject_data_request(self, request_id: UUID, reason: str, actor: str) -> Outcome:
        """An erased subject's other open requests can still be closed; the reason is then
        required but not recorded, since nothing personal may be written about them."""

        def reject(request: DataRequest, subject: Subject) -> None:
            keep_reason = self.keys.get(request.subject_id) is not None
            request.reject(reason, actor, self.now(), keep_reason=keep_reason)
            subject.close_request(request.kind, request.id, self.now())

        return self._closing(request_id, None, both=reject)

    def fulfil_data_request(
        self, request_id: UUID, actor: str, delivery_sha256: str | None = None,
        delivery_format: str | None = None,
    ) -> Outcome:
        """Fulfilling an erasure request erases the subject."""
        request = self.data_request(request_id)
        if request.kind == DataRequestKind.ERASURE.value:
            request.fulfil(actor, self.now())  # check the rules before the key is destroyed
            subject = self.subject(request.subject_id)
            if not subject.erased:
                subject.erase(actor, self.now(), request_id)
                self.keys.shred(request.subject_id)
                self.recent_subjects.forget(request.subject_id)

        def fulfil(request: DataRequest, subject: Subject) -> None:
            request.fulfil(actor, self.now(), delivery_sha256, delivery_format)
            subject.close_request(request.kind, request.id, self.now())
            if request.kind == DataRequestKind.ERASURE.value and not subject.erased:
                subject.erase(actor, self.now(), request_id)

        return self._closing(request_id, None, both=fulfil)

    def _closing(
        self, request_id: UUID, command: Callable[[DataRequest], Any] | None,
        both: Callable[[DataRequest, Subject], Any] | None = None,
    ) -> Outcome:
        """Closing a request also frees the subject for a new request of the same kind."""

        def close() -> Outcome:
            request = self.data_request(request_id)
            subject = self.subject(request.subject_id)
            if both is not None:
                both(request, subject)
            else:
                assert command is not None
                command(request)
                if not subject.erased:
                    subject.close_request(request.kind, request.id, self.now())
            return Outcome(request, self._save(request, subject))

        return self._retrying(close)

    def mark_data_request_overdue(self, request_id: UUID) -> Outcome | None:
        return self._maybe(request_id, DataRequest, lambda r: r.mark_overdue_if_due(self.now()))

    # Incidents and disclosures
    def report_incident(
        self, title: str, description: str, severity: str, tenant_ids: list[UUID],
        actor: str, aware_at: datetime | None = None,
    ) -> Outcome:
        tenant_ids = values.ids("tenant_ids", tenant_ids)
        for tenant_id in tenant_ids:
            self.tenant(tenant_id)
        incident = Incident.report(
            title, description, severity, tenant_ids, actor, self.now(), aware_at
        )
        return Outcome(incident, self._save(incident))

    def incident(self, incident_id: UUID) -> Incident:
        return self._load(incident_id, Incident)

    def notify_customer_of_incident(
        self, incident_id: UUID, tenant_id: UUID, actor: str
    ) -> Outcome:
        return self._change(
            incident_id, Incident, lambda i: i.notify_customer(tenant_id, actor, self.now())
        )

    def notify_authority_of_incident(
        self, incident_id: UUID, reference: str, actor: str
    ) -> Outcome:
        return self._change(
            incident_id, Incident, lambda i: i.notify_authority(reference, actor, self.now())
        )

    def mark_incident_overdue(self, incident_id: UUID) -> Outcome | None:
        return self._maybe(incident_id, Incident, lambda i: i.mark_overdue_if_due(self.now()))

    def record_disclosure(
        self, tenant_id: UUID, recipient: str, legal_basis: str, reference: str, actor: str,
        subject_ids: list[UUID] | None = None,
    ) -> Outcome:
        self.tenant(tenant_id)
        for subject_id in values.ids("subject_ids", subject_ids):
            try:
                belongs = self.subject(subject_id).tenant_id == tenant_id
            except NotFound:
                belongs = False
            if not belongs:
                raise InvalidInput(
                    "subject_ids", f"{subject_id} is not a subject of this tenant"
                )
        disclosure = Disclosure.record(
            tenant_id, recipient, legal_basis, reference, actor, self.now(), subject_ids
        )
        return Outcome(disclosure, self._save(disclosure))

    def disclosure(self, disclosure_id: UUID) -> Disclosure:
        return self._load(disclosure_id, Disclosure)

    # The vendor's own reads of a subject's personal data
    def record_vendor_read(
        self, subject_id: UUID, actor: str, role: str, what: str,
        request_id: UUID | None = None, reason: str | None = None,
    ) -> Outcome | None:
        """Recorded before the data is handed over; None when there is nothing personal left
        to read (the subject was erased, or its tenant purged: its key is gone)."""
        registered = self.recorder.select_events(subject_id, limit=1)
        if not registered or registered[0].topic != _SUBJECT_REGISTERED:
            raise NotFound(f"no subject with id {subject_id}")
        if self.keys.get(subject_id) is None:
            return None
        tenant_id = self.mapper.to_domain_event(registered[0]).tenant_id
        request_subject_id = None
        if request_id is not None:
            try:
                request_subject_id = self.data_request(request_id).subject_id
            except NotFound:
                raise InvalidInput("request_id", f"no subject's request with id {request_id}") from None
        read = VendorRead.record(
            subject_id, tenant_id, actor, role, what, self.now(), request_id, reason,
            request_subject_id, self._tenant_status(tenant_id),
        )
        return Outcome(read, self._save(read))


def _replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event `isinstance` against a runtime
    Protocol, which costs more than applying the event (docs/benchmarks.md)."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _back_off(attempt: int) -> None:
    """A random pause, doubling with each lost race up to a tenth of a second, before
    re-reading: writers that keep colliding on one aggregate spread out instead of
    colliding again (twenty attempts wait at most about two seconds in all)."""
    time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))


def _noun(kind: type) -> str:
    return {
        "AccessRequest": "access request",
        "DataRequest": "subject's request",
    }.get(kind.__name__, kind.__name__.lower())
