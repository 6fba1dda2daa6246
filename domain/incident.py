"""A security incident: affected customers are told without undue delay, the authority within 72 hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import upcasts, values
from domain.deadlines import AUTHORITY_NOTICE, is_past
from domain.errors import IncidentStepOutOfOrder, InvalidInput
from domain.vocabulary import IncidentSeverity


class Incident(Aggregate):
    class Reported(Aggregate.Created):
        title: str
        description: str
        severity: str
        aware_at: datetime
        authority_due_at: datetime
        tenant_ids: list[UUID]
        actor: str

    class CustomerNotified(Aggregate.Event):
        """`message_id`: the Message-ID of the notice the ledger mailed (then `actor` is the
        ledger's outbox); None when an officer records that the customer was told."""

        class_version = 2
        upcast_v1_v2 = staticmethod(upcasts.told_by_hand)
        tenant_id: UUID
        actor: str
        message_id: str | None

        def apply(self, incident: "Incident") -> None:
            incident.customers_notified[self.tenant_id] = self.timestamp

    class AuthorityNotified(Aggregate.Event):
        reference: str
        actor: str

        def apply(self, incident: "Incident") -> None:
            incident.authority_notified_at = self.timestamp

    class MarkedOverdue(Aggregate.Event):
        authority_due_at: datetime

        def apply(self, incident: "Incident") -> None:
            incident.overdue = True

    def __init__(
        self, title: str, description: str, severity: str, aware_at: datetime,
        authority_due_at: datetime, tenant_ids: list[UUID], actor: str, **_: Any,
    ) -> None:
        self.title = title
        self.description = description
        self.severity = severity
        self.aware_at = aware_at
        self.authority_due_at = authority_due_at
        self.tenant_ids = list(tenant_ids)
        self.customers_notified: dict[UUID, datetime] = {}
        self.authority_notified_at: datetime | None = None
        self.overdue = False

    @classmethod
    def report(
        cls, title: str, description: str, severity: str, tenant_ids: list[UUID], actor: str,
        now: datetime, aware_at: datetime | None = None,
    ) -> "Incident":
        aware = now if aware_at is None else values.moment("aware_at", aware_at)
        if aware > now:
            raise InvalidInput("aware_at", "the vendor cannot have become aware in the future")
        severity = values.choice("severity", IncidentSeverity, severity).value
        return cls._create(
            cls.Reported,
            id=uuid4(),
            title=values.text("title", title, max_length=200),
            description=values.text("description", description, max_length=10000),
            severity=severity,
            aware_at=aware,
            authority_due_at=aware + AUTHORITY_NOTICE,
            tenant_ids=values.ids("tenant_ids", tenant_ids),
            actor=actor,
            timestamp=now,
        )

    def notify_customer(
        self, tenant_id: UUID, actor: str, now: datetime, message_id: str | None = None
    ) -> None:
        if tenant_id not in self.tenant_ids:
            raise InvalidInput("tenant_id", "that tenant is not affected by this incident")
        if tenant_id in self.customers_notified:
            raise IncidentStepOutOfOrder("that customer has already been notified")
        self.trigger_event(
            self.CustomerNotified, tenant_id=tenant_id, actor=actor, message_id=message_id,
            timestamp=now,
        )

    def notify_authority(self, reference: str, actor: str, now: datetime) -> None:
        if self.authority_notified_at is not None:
            raise IncidentStepOutOfOrder("the authority has already been notified")
        reference = values.text("reference", reference, max_length=200) or ""
        self.trigger_event(self.AuthorityNotified, reference=reference, actor=actor, timestamp=now)

    def is_overdue(self, now: datetime) -> bool:
        """The authority was not told within the 72 hours: it still has not been and the time
        is past, or it was told late. Late is late, marked by the sweep or not."""
        return self.overdue or is_past(self.authority_due_at, self.authority_notified_at or now)

    def should_be_marked_overdue(self, now: datetime) -> bool:
        """Past the 72 hours with the authority not told, and not yet marked so: what the
        sweep records (`MarkedOverdue`). A notice given late is not marked afterwards."""
        return (
            self.authority_notified_at is None and not self.overdue
            and is_past(self.authority_due_at, now)
        )

    def mark_overdue_if_due(self, now: datetime) -> bool:
        if self.should_be_marked_overdue(now):
            # Stamped when noticed, so the incident's timestamps never run backwards.
            self.trigger_event(
                self.MarkedOverdue, authority_due_at=self.authority_due_at, timestamp=now
            )
            return True
        return False
