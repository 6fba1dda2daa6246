"""A data subject: a person whose data the vendor holds, their consents, and their erasure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import consent, upcasts, values
from domain.errors import (
    ConsentNeedsNoticeAndMethod,
    DuplicateOpenRequest,
    InvalidInput,
    StateConflict,
    SubjectErased,
)
from domain.personal import ERASED, CarriesPersonalData
from domain.tenant import TenantStanding
from domain.visitor import PERSON, VISITOR, Visitor
from domain.vocabulary import ConsentMethod, ConsentStatus

class Subject(Visitor, Aggregate):
    """A person (`Registered`, with name and e-mail) or a website visitor (`Arrived`,
    without: domain/visitor.py)."""

    class Registered(Aggregate.Created, CarriesPersonalData):
        personal_fields = ("name", "email", "phone")
        tenant_id: UUID | None
        name: str
        email: str
        phone: str | None
        actor: str

    class Rectified(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("name", "email", "phone")
        name: str | None
        email: str | None
        phone: str | None
        actor: str

        def apply(self, subject: "Subject") -> None:
            for field in ("name", "email", "phone"):
                if getattr(self, field) is not None:
                    setattr(subject, field, getattr(self, field))

    class ConsentGiven(Aggregate.Event, CarriesPersonalData):
        """`channel` None: for every channel of the purpose (domain/consent.py)."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasts.every_channel)
        personal_fields = ("ip_address",)
        purpose: str
        channel: str | None
        notice_version: str
        method: str
        actor: str
        ip_address: str | None

        def apply(self, subject: "Subject") -> None:
            subject.decide(self, ConsentStatus.GIVEN)

    class ConsentWithdrawn(Aggregate.Event, CarriesPersonalData):
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasts.every_channel)
        personal_fields = ("ip_address",)
        purpose: str
        channel: str | None
        notice_version: str | None
        method: str
        actor: str
        ip_address: str | None

        def apply(self, subject: "Subject") -> None:
            subject.decide(self, ConsentStatus.WITHDRAWN)

    class RequestOpened(Aggregate.Event):
        """Kept on the subject so two open requests of one kind cannot slip in side by side."""

        kind: str
        request_id: UUID

        def apply(self, subject: "Subject") -> None:
            subject.open_requests[self.kind] = self.request_id

    class RequestClosed(Aggregate.Event):
        kind: str
        request_id: UUID

        def apply(self, subject: "Subject") -> None:
            if subject.open_requests.get(self.kind) == self.request_id:
                del subject.open_requests[self.kind]

    class Erased(Aggregate.Event):
        """The fence: after this event nothing about the person is recorded or readable."""

        actor: str
        request_id: UUID | None

        def apply(self, subject: "Subject") -> None:
            subject.erased = True
            subject.erased_at = self.timestamp
            subject.name = subject.email = ERASED
            subject.phone = None

    class ErasureBecameFinal(Aggregate.Event):
        """The last key-encryption key that ever wrapped the subject's data key was destroyed:
        from now on no copy of the store (a backup, a replica, an old write-ahead log) can
        decrypt anything of the person (docs/erasure.md)."""

        last_key_epoch: int

        def apply(self, subject: "Subject") -> None:
            subject.erasure_final_at = self.timestamp

    class PropagationConfirmed(Aggregate.Event):
        """One of the vendor's systems applied a consent change of this subject:
        `propagation_id` is the delivery that told it (projections/outbox/)."""

        system_id: UUID
        propagation_id: str
        actor: str

        def apply(self, subject: "Subject") -> None:
            # Replaced, not added to in place: a kept copy of the subject may share the set.
            subject.confirmed_propagations = subject.confirmed_propagations | {self.propagation_id}

    def __init__(
        self, tenant_id: UUID | None, name: str | None = None, email: str | None = None,
        phone: str | None = None, site_id: UUID | None = None, **_: Any,
    ) -> None:
        self.tenant_id = tenant_id
        self.name = name
        self.email = email
        self.phone = phone
        # A visitor is made by `Arrived` (domain/visitor.py): it names its site, and no name
        # or e-mail.
        self.kind = VISITOR if site_id is not None else PERSON
        self.site_id = site_id
        self.notices_shown: dict[str, str] = {}  # category -> notice version (visitors)
        self.linked_to: UUID | None = None  # the person a visitor turned out to be
        self.visitors: frozenset[UUID] = frozenset()  # the visitors linked to a person
        # purpose -> channel (or consent.EVERY_CHANNEL) -> the last decision made for it
        self.consents: dict[str, dict[str, dict[str, Any]]] = {}
        self.open_requests: dict[str, UUID] = {}
        self.confirmed_propagations: frozenset[str] = frozenset()
        self.erased = False
        self.erased_at: datetime | None = None
        self.erasure_final_at: datetime | None = None

    def decide(self, event: Any, status: ConsentStatus) -> None:
        decision = {
            "status": status.value,
            "channel": event.channel,
            "since": event.timestamp,
            "notice_version": event.notice_version,
            "method": event.method,
            "version": event.originator_version,
        }
        # The purpose's decisions are replaced, not changed in place: a copy of this subject
        # (domain/ledger/recent_subjects.py) may share the old mapping.
        decided = self.consents.get(event.purpose, {})
        self.consents[event.purpose] = {**decided, consent.key(event.channel): decision}

    @classmethod
    def register(
        cls,
        tenant_id: UUID | None,
        name: str,
        email: str,
        phone: str | None,
        actor: str,
        now: datetime,
        subject_id: UUID | None = None,
    ) -> "Subject":
        return cls._create(
            cls.Registered, id=subject_id or uuid4(), tenant_id=tenant_id,
            name=values.text("name", name, max_length=200), email=values.email(email),
            phone=values.phone(phone), actor=actor, timestamp=now,
        )

    def _ensure_not_erased(self) -> None:
        if self.erased:
            raise SubjectErased()

    def rectify(
        self, actor: str, now: datetime, name: str | None = None, email: str | None = None,
        phone: str | None = None,
    ) -> None:
        self._ensure_not_erased()
        if name is None and email is None and phone is None:
            raise InvalidInput("name", "give at least one of name, email or phone to correct")
        self.trigger_event(
            self.Rectified,
            name=None if name is None else values.text("name", name, max_length=200),
            email=None if email is None else values.email(email),
            phone=values.phone(phone), actor=actor, timestamp=now,
        )

    def _ensure_consent_may_be_written(self, tenant: TenantStanding | None) -> None:
        """Not about an erased person; not while its tenant is terminated (or purged)."""
        self._ensure_not_erased()
        if tenant is not None:
            tenant.ensure_open()

    def give_consent(
        self, purpose: str, method: str, notice_version: str, actor: str, now: datetime,
        channel: str | None = None, ip_address: str | None = None,
        tenant: TenantStanding | None = None,
    ) -> None:
        """Consent exists only through this explicit act, naming how and under which notice.
        Without a channel it is given for every channel of the purpose."""
        self._ensure_consent_may_be_written(tenant)
        if method is None or method == "":
            raise ConsentNeedsNoticeAndMethod(
                "method", "consent is given by an explicit act: name the method"
            )
        if notice_version is None or (isinstance(notice_version, str) and not notice_version.strip()):
            raise ConsentNeedsNoticeAndMethod(
                "notice_version", "consent is given to a notice: name its version"
            )
        self._record_decision(self.ConsentGiven, purpose, channel, notice_version, True, method, actor,
                     ip_address, now)

    def withdraw_consent(
        self, purpose: str, method: str, actor: str, now: datetime,
        channel: str | None = None, notice_version: str | None = None,
        ip_address: str | None = None, tenant: TenantStanding | None = None,
    ) -> None:
        """Withdrawing is as easy as giving: no notice version is needed. Without a channel
        it is withdrawn for every channel of the purpose."""
        self._ensure_consent_may_be_written(tenant)
        self._record_decision(self.ConsentWithdrawn, purpose, channel, notice_version, False, method,
                     actor, ip_address, now)

    def _record_decision(
        self, event_class: type, purpose: str, channel: str | None, notice_version: str | None,
        notice_required: bool, method: str, actor: str, ip_address: str | None, now: datetime,
    ) -> None:
        self.trigger_event(
            event_class,
            purpose=values.purpose(purpose).value,
            channel=values.channel(channel),
            notice_version=values.text(
                "notice_version", notice_version, required=notice_required, max_length=100
            ),
            method=values.choice("method", ConsentMethod, method).value,
            actor=actor,
            ip_address=values.text("ip_address", ip_address, required=False, max_length=64),
            timestamp=now,
        )

    def open_request(self, kind: str, request_id: UUID, now: datetime) -> None:
        self._ensure_not_erased()
        if kind in self.open_requests:
            raise DuplicateOpenRequest(self.open_requests[kind])
        self.trigger_event(self.RequestOpened, kind=kind, request_id=request_id, timestamp=now)

    def close_request(self, kind: str, request_id: UUID, now: datetime) -> None:
        if self.open_requests.get(kind) == request_id:
            self.trigger_event(self.RequestClosed, kind=kind, request_id=request_id, timestamp=now)

    def withdraw_consent_if_given(
        self, purpose: str, method: str, actor: str, now: datetime, channel: str | None = None
    ) -> bool:
        """For one-click links: withdraws only a consent that stands (on that channel, or on
        any channel when none is named), so a second click (or two clicks at once, after the
        retry re-reads) records nothing. True when it withdrew. The person's own withdrawal
        is recorded even while their tenant is terminated: no closed door stands between a
        person and their right to say no."""
        decisions = self.consents.get(values.purpose(purpose).value, {})
        channel = values.channel(channel)
        if channel is None:
            if not consent.given_somewhere(decisions):
                return False
            standing = consent.latest(decisions)
        else:
            standing = consent.standing(decisions, channel)
            if not consent.is_given(standing):
                return False
        assert standing is not None
        self.withdraw_consent(
            purpose, method, actor, now, channel=channel,
            notice_version=standing["notice_version"],
        )
        return True

    def consent_answer(
        self, purpose: str, channel: str | None = None, tenant: TenantStanding | None = None
    ) -> dict[str, Any]:
        """May the vendor use this purpose (on this channel)? Anything never given is a no."""
        return consent.answer(
            self.consents.get(values.purpose(purpose).value, {}), values.channel(channel),
            erased=self.erased, closed=None if tenant is None else tenant.closed_reason,
        )

    def is_allowed(self, purpose: str, channel: str | None = None) -> bool:
        return bool(self.consent_answer(purpose, channel)["allowed"])

    def confirm_propagation(
        self, system_id: UUID, propagation_id: str, actor: str, now: datetime
    ) -> bool:
        """False when this propagation was confirmed already (nothing recorded). Nothing is
        recorded about an erased subject, not even this."""
        self._ensure_not_erased()
        propagation_id = values.text("propagation_id", propagation_id, max_length=200) or ""
        if propagation_id in self.confirmed_propagations:
            return False
        self.trigger_event(
            self.PropagationConfirmed, system_id=system_id, propagation_id=propagation_id,
            actor=actor, timestamp=now,
        )
        return True

    def erase(self, actor: str, now: datetime, request_id: UUID | None = None) -> None:
        self._ensure_not_erased()
        self.trigger_event(self.Erased, actor=actor, request_id=request_id, timestamp=now)

    def record_erasure_final(self, at: datetime, last_key_epoch: int) -> bool:
        """Once the erasure can no longer be undone by any copy; False when that was already
        recorded (a second run of the epoch close changes nothing)."""
        if not self.erased:
            raise StateConflict("the subject is not erased, so its erasure cannot be final")
        if self.erasure_final_at is not None:
            return False
        self.trigger_event(self.ErasureBecameFinal, last_key_epoch=last_key_epoch, timestamp=at)
        return True
