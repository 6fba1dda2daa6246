"""A subject's request (GDPR art. 15-21): received, verified, maybe extended or quoted, then closed.

The deadline is one calendar month after receipt; up to two more months with a reason; a
portability export with a fee is due 14 days after the quote is accepted. An erasure or
rectification request is also propagated to the vendor's systems once the identity is verified,
and waits for them before it is fulfilled (the rules: domain/propagation.py).
"""

from __future__ import annotations

from datetime import datetime
from collections.abc import Iterable
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import currencies, upcasts, values
from domain.deadlines import (
    MAXIMUM_EXTENSION_MONTHS,
    QUOTED_EXPORT_DELIVERY,
    add_calendar_months,
    is_past,
)
from domain.errors import DataRequestClosed, DataRequestStepOutOfOrder, InvalidInput
from domain.personal import CarriesPersonalData
from domain.propagation import (
    DownstreamSystem,
    PropagatedRequest,
    PropagationStatus,
    propagation_state,
)
from domain.vocabulary import (
    DATA_REQUEST_CLOSED,
    DataRequestKind,
    DataRequestStatus,
    RequestChannel,
)


class DataRequest(Aggregate, PropagatedRequest):
    class Received(Aggregate.Created, CarriesPersonalData):
        """`received_at`: when the request reached the vendor, if earlier than this event
        (a letter entered the next day); None means when it was entered (the timestamp).
        `actor` is who entered it."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasts.received_when_entered)
        personal_fields = ("details",)
        data_owner = "subject_id"
        subject_id: UUID
        tenant_id: UUID | None
        kind: str
        channel: str
        details: str | None
        due_at: datetime
        actor: str
        received_at: datetime | None

    class IdentityVerified(Aggregate.Event):
        method: str
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.identity_verified = True
            if request.status == DataRequestStatus.RECEIVED:
                request.status = DataRequestStatus.VERIFIED

    class Extended(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "subject_id"
        subject_id: UUID
        months: int
        reason: str
        due_at: datetime
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.extended_months += self.months
            request.due_at = self.due_at

    class Quoted(Aggregate.Event):
        amount_cents: int
        currency: str
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.status = DataRequestStatus.QUOTED
            request.quote = {"amount_cents": self.amount_cents, "currency": self.currency}

    class QuoteAccepted(Aggregate.Event):
        due_at: datetime
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.status = DataRequestStatus.QUOTE_ACCEPTED
            request.due_at = self.due_at

    class QuoteDeclined(Aggregate.Event):
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.status = DataRequestStatus.DECLINED

    class Fulfilled(Aggregate.Event):
        actor: str
        delivery_sha256: str | None
        delivery_format: str | None

        def apply(self, request: "DataRequest") -> None:
            request.status = DataRequestStatus.FULFILLED
            request.delivery_sha256 = self.delivery_sha256
            request.delivery_format = self.delivery_format

    class Rejected(Aggregate.Event, CarriesPersonalData):
        # `reason` is None when the subject was erased before the request was closed: the
        # officer's words about a person who is gone are not kept (there is no key for them).
        personal_fields = ("reason",)
        data_owner = "subject_id"
        subject_id: UUID
        reason: str | None
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.status = DataRequestStatus.REJECTED

    class MarkedOverdue(Aggregate.Event):
        due_at: datetime

        def apply(self, request: "DataRequest") -> None:
            request.overdue = True

    # Propagation to the vendor's systems (domain/propagation.py)
    class PropagationStarted(Aggregate.Event):
        """`systems`: those concerned when it started; `system_names` theirs, in that order."""

        kind: str
        subject_id: UUID
        systems: list[UUID]
        system_names: list[str]

        def apply(self, request: "DataRequest") -> None:
            request.propagation = {
                system_id: propagation_state(name, PropagationStatus.PENDING, self.timestamp)
                for system_id, name in zip(self.systems, self.system_names)
            }

    class PropagationConfirmed(Aggregate.Event):
        system_id: UUID
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.settle_propagation(self.system_id, PropagationStatus.CONFIRMED, self.timestamp)

    class PropagationFailed(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "subject_id"
        system_id: UUID
        subject_id: UUID
        reason: str
        actor: str

        def apply(self, request: "DataRequest") -> None:
            request.settle_propagation(self.system_id, PropagationStatus.FAILED, self.timestamp, self.reason)

    class PropagationWaived(Aggregate.Event, CarriesPersonalData):
        """`systems`: those not confirmed when an officer closed the propagation. `reason` is
        None when the subject's key was gone by then (required, but not kept)."""

        personal_fields = ("reason",)
        data_owner = "subject_id"
        systems: list[UUID]
        subject_id: UUID
        reason: str | None
        actor: str

        def apply(self, request: "DataRequest") -> None:
            for system_id in self.systems:
                request.settle_propagation(system_id, PropagationStatus.WAIVED, self.timestamp, self.reason)

    def __init__(
        self, subject_id: UUID, tenant_id: UUID | None, kind: str, channel: str,
        details: str | None, due_at: datetime, actor: str,
        received_at: datetime | None = None, **_: Any,
    ) -> None:
        self.subject_id = subject_id
        self.tenant_id = tenant_id
        self.kind = kind
        self.channel = channel
        self.details = details
        self.entered_by = actor
        self.received_at = received_at or self.created_on
        self.due_at = due_at
        self.status = DataRequestStatus.RECEIVED
        self.identity_verified = False
        self.extended_months = 0
        self.quote: dict[str, Any] | None = None
        self.delivery_sha256: str | None = None
        self.delivery_format: str | None = None
        self.overdue = False
        self.propagation: dict[UUID, dict[str, Any]] = {}

    @classmethod
    def receive(
        cls, subject_id: UUID, tenant_id: UUID | None, kind: str, channel: str,
        details: str | None, actor: str, now: datetime, received_at: datetime | None = None,
    ) -> "DataRequest":
        """`received_at`: when the request arrived, if before now; the deadline counts from
        it. Not in the future, and not older than a year."""
        arrived = now if received_at is None else _arrival(received_at, now)
        return cls._create(
            cls.Received,
            id=uuid4(),
            subject_id=subject_id,
            tenant_id=tenant_id,
            kind=values.choice("kind", DataRequestKind, kind).value,
            channel=values.choice("channel", RequestChannel, channel).value,
            details=values.text("details", details, required=False, max_length=4000),
            due_at=add_calendar_months(arrived, 1),
            actor=actor,
            received_at=None if received_at is None else arrived,
            timestamp=now,
        )

    @property
    def is_open(self) -> bool:
        return self.status not in DATA_REQUEST_CLOSED

    def is_overdue(self, now: datetime) -> bool:
        """Still open and past its due date: whether the sweep has marked it yet or not."""
        return self.is_open and (self.overdue or is_past(self.due_at, now))

    def should_be_marked_overdue(self, now: datetime) -> bool:
        """Overdue and not yet marked so: what the sweep records (`MarkedOverdue`)."""
        return self.is_open and not self.overdue and is_past(self.due_at, now)

    def _ensure_open(self) -> None:
        if not self.is_open:
            raise DataRequestClosed(self.status)

    def verify_identity(
        self, method: str, actor: str, now: datetime, systems: Iterable[DownstreamSystem] = ()
    ) -> None:
        """`systems`: the vendor's registered systems; those this request concerns are told
        now, once the requester is known to be who they say."""
        self._ensure_open()
        if self.identity_verified:
            raise DataRequestStepOutOfOrder("the requester's identity is already verified")
        method = values.text("method", method, max_length=200) or ""
        self.trigger_event(self.IdentityVerified, method=method, actor=actor, timestamp=now)
        self.start_propagation(systems, now)

    def extend(self, months: int, reason: str, actor: str, now: datetime) -> None:
        self._ensure_open()
        if not isinstance(months, int) or isinstance(months, bool) or months < 1:
            raise InvalidInput(
                "months", f"extend by 1 to {MAXIMUM_EXTENSION_MONTHS} whole months"
            )
        if self.extended_months + months > MAXIMUM_EXTENSION_MONTHS:
            raise InvalidInput(
                "months",
                f"a request may be extended by at most {MAXIMUM_EXTENSION_MONTHS} months in all; "
                f"{self.extended_months} used",
            )
        reason = values.text("reason", reason, max_length=2000) or ""
        self.trigger_event(
            self.Extended,
            subject_id=self.subject_id,
            months=months,
            reason=reason,
            due_at=add_calendar_months(self.received_at, 1 + self.extended_months + months),
            actor=actor,
            timestamp=now,
        )

    def quote_fee(self, amount_cents: int, currency: str, actor: str, now: datetime) -> None:
        self._ensure_open()
        if self.kind != DataRequestKind.PORTABILITY:
            raise DataRequestStepOutOfOrder("only a portability export can carry a fee")
        if self.status in (DataRequestStatus.QUOTED, DataRequestStatus.QUOTE_ACCEPTED):
            raise DataRequestStepOutOfOrder("a fee has already been quoted")
        if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents < 1:
            raise InvalidInput("amount_cents", "amount_cents must be a positive whole number")
        currency = currencies.currency(currency)
        self.trigger_event(
            self.Quoted, amount_cents=amount_cents, currency=currency, actor=actor, timestamp=now
        )

    def accept_quote(self, actor: str, now: datetime) -> None:
        self._ensure_open()
        if self.status != DataRequestStatus.QUOTED:
            raise DataRequestStepOutOfOrder("there is no quote waiting to be accepted")
        self.trigger_event(
            self.QuoteAccepted, due_at=now + QUOTED_EXPORT_DELIVERY, actor=actor, timestamp=now
        )

    def decline_quote(self, actor: str, now: datetime) -> None:
        self._ensure_open()
        if self.status != DataRequestStatus.QUOTED:
            raise DataRequestStepOutOfOrder("there is no quote waiting to be declined")
        self.trigger_event(self.QuoteDeclined, actor=actor, timestamp=now)

    def fulfil(
        self, actor: str, now: datetime, delivery_sha256: str | None = None,
        delivery_format: str | None = None,
    ) -> None:
        self._ensure_open()
        if not self.identity_verified:
            raise DataRequestStepOutOfOrder("verify the requester's identity before fulfilling")
        if self.status == DataRequestStatus.QUOTED:
            raise DataRequestStepOutOfOrder("the quoted fee has not been accepted yet")
        self.ensure_propagated()
        self.trigger_event(
            self.Fulfilled, actor=actor, delivery_sha256=delivery_sha256,
            delivery_format=delivery_format, timestamp=now,
        )

    def reject(
        self, reason: str, actor: str, now: datetime, keep_reason: bool = True
    ) -> None:
        """`keep_reason=False` when the subject's key is gone: the reason is still required
        (the officer must give one) but is not recorded."""
        self._ensure_open()
        reason = values.text("reason", reason, max_length=2000) or ""
        self.trigger_event(
            self.Rejected, subject_id=self.subject_id, reason=reason if keep_reason else None,
            actor=actor, timestamp=now,
        )

    def mark_overdue_if_due(self, now: datetime) -> bool:
        if self.should_be_marked_overdue(now):
            # Stamped when noticed, so the request's timestamps never run backwards.
            self.trigger_event(self.MarkedOverdue, due_at=self.due_at, timestamp=now)
            return True
        return False


def _arrival(received_at: datetime, now: datetime) -> datetime:
    received_at = values.moment("received_at", received_at)
    if received_at > now:
        raise InvalidInput("received_at", "received_at is in the future")
    if received_at < add_calendar_months(now, -12):
        raise InvalidInput(
            "received_at", "received_at is more than a year ago; such a request is long overdue"
        )
    return received_at
