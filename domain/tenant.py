"""A tenant: a customer of the vendor, whose data lives in the EU and ends 60 days after it leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from domain import values
from domain.deadlines import TENANT_GRACE_PERIOD, is_past
from domain.errors import (
    ExceptionalLocationNeedsReason,
    GracePeriodOver,
    PurgeTooEarly,
    StateConflict,
    TenantClosed,
    TenantNotActive,
    TenantNotTerminated,
    TenantPurged,
)
from domain.personal import CarriesPersonalData
from domain.vocabulary import FAILOVER_LOCATION, PRIMARY_LOCATION, TenantStatus


class Tenant(Aggregate):
    class Created(Aggregate.Created, CarriesPersonalData):
        # A company name may be a sole trader's name: it is shredded with the tenant.
        personal_fields = ("name",)
        name: str
        location: str
        actor: str

    class Terminated(Aggregate.Event):
        actor: str
        purge_after: datetime

        def apply(self, tenant: "Tenant") -> None:
            tenant.status = TenantStatus.TERMINATED
            tenant.purge_after = self.purge_after
            tenant.tenancy += 1
            tenant.terminated_at.append(self.timestamp)

    class Reactivated(Aggregate.Event):
        actor: str

        def apply(self, tenant: "Tenant") -> None:
            tenant.status = TenantStatus.ACTIVE
            tenant.purge_after = None

    class Purged(Aggregate.Event):
        actor: str

        def apply(self, tenant: "Tenant") -> None:
            tenant.status = TenantStatus.PURGED

    class PurgeBecameFinal(Aggregate.Event):
        """The last key-encryption key that wrapped the keys the purge destroyed is gone: no
        copy of the store can decrypt the tenant's or its subjects' personal data."""

        last_key_epoch: int

        def apply(self, tenant: "Tenant") -> None:
            tenant.purge_final_at = self.timestamp

    class LocationMoved(Aggregate.Event):
        actor: str
        from_location: str
        to_location: str
        reason: str | None
        exceptional: bool

        def apply(self, tenant: "Tenant") -> None:
            tenant.location = self.to_location
            tenant.locations.append(
                {"location": self.to_location, "since": self.timestamp, "reason": self.reason}
            )

    def __init__(self, name: str, location: str, actor: str, **_: Any) -> None:
        self.name = name
        self.location = location
        self.status = TenantStatus.ACTIVE
        self.purge_after: datetime | None = None
        self.purge_final_at: datetime | None = None
        # A termination ends a tenancy; a reactivation starts the next one. Grants and pending
        # requests belong to the tenancy they were asked in and end with it.
        self.tenancy = 0
        self.terminated_at: list[datetime] = []
        self.locations: list[dict[str, Any]] = [
            {"location": location, "since": self.created_on, "reason": None}
        ]

    @classmethod
    def open(cls, name: str, location: str | None, actor: str, now: datetime) -> "Tenant":
        name = values.text("name", name, max_length=200)
        where = values.eu_location(location or PRIMARY_LOCATION)
        if where not in (PRIMARY_LOCATION, FAILOVER_LOCATION):
            # A new tenant starts in NL (or IE on failover); anywhere else is a recorded move.
            raise ExceptionalLocationNeedsReason(where)
        return cls._create(
            cls.Created, id=uuid4(), name=name, location=where, actor=actor, timestamp=now
        )

    @property
    def standing(self) -> "TenantStanding":
        return TenantStanding(self.status)

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    def ensure_active(self) -> None:
        if not self.is_active:
            raise TenantNotActive(self.status)

    def terminated_since(self, moment: datetime) -> bool:
        return any(at >= moment for at in self.terminated_at)

    def terminate(self, actor: str, now: datetime) -> None:
        if self.status == TenantStatus.PURGED:
            raise TenantPurged()
        if self.status == TenantStatus.TERMINATED:
            raise StateConflict("the tenant is already terminated")
        self.trigger_event(
            self.Terminated, actor=actor, purge_after=now + TENANT_GRACE_PERIOD, timestamp=now
        )

    def reactivate(self, actor: str, now: datetime) -> None:
        if self.status == TenantStatus.PURGED:
            raise TenantPurged()
        if self.status != TenantStatus.TERMINATED:
            raise TenantNotTerminated(self.status)
        if self.grace_period_is_over(now):
            raise GracePeriodOver()
        self.trigger_event(self.Reactivated, actor=actor, timestamp=now)

    def grace_period_is_over(self, now: datetime) -> bool:
        """The 60 days in which a terminated tenant may come back have passed (on the last
        moment of them it still may)."""
        return self.purge_after is not None and is_past(self.purge_after, now)

    def is_due_for_purge(self, now: datetime) -> bool:
        return self.status == TenantStatus.TERMINATED and self.grace_period_is_over(now)

    def purge(self, actor: str, now: datetime) -> None:
        if self.status == TenantStatus.PURGED:
            raise TenantPurged()
        if self.status != TenantStatus.TERMINATED:
            raise TenantNotTerminated(self.status)
        if not self.is_due_for_purge(now):
            raise PurgeTooEarly(self.purge_after)
        self.trigger_event(self.Purged, actor=actor, timestamp=now)

    def record_purge_final(self, at: datetime, last_key_epoch: int) -> bool:
        """Once the purge can no longer be undone by any copy; False when already recorded."""
        if self.status != TenantStatus.PURGED:
            raise TenantNotTerminated(self.status)
        if self.purge_final_at is not None:
            return False
        self.trigger_event(self.PurgeBecameFinal, last_key_epoch=last_key_epoch, timestamp=at)
        return True

    def move_location(self, location: str, reason: str | None, actor: str, now: datetime) -> None:
        if self.status == TenantStatus.PURGED:
            raise TenantPurged()
        where = values.eu_location(location)
        reason = values.text("reason", reason, required=False, max_length=1000)
        exceptional = where not in (PRIMARY_LOCATION, FAILOVER_LOCATION)
        if exceptional and not reason:
            raise ExceptionalLocationNeedsReason(where)
        if where == self.location:
            raise StateConflict(f"the tenant's data is already in {where}")
        self.trigger_event(
            self.LocationMoved,
            actor=actor,
            from_location=self.location,
            to_location=where,
            reason=reason,
            exceptional=exceptional,
            timestamp=now,
        )


CUSTOMER_READABLE_WHILE_CLOSED = frozenset({"tenant", "access log", "incidents"})


@dataclass(frozen=True)
class TenantStanding:
    """All that the rules about a tenant's subjects and data need of the tenant: its status.
    Learnt without replaying (and decrypting) the tenant where that matters: from the topics
    of its last events (`status_set_by`), or from its row on the read side."""

    status: str

    @property
    def is_open(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    @property
    def closed_reason(self) -> str | None:
        """Why the tenant's subjects' consent is refused whatever was decided; None while open."""
        return None if self.is_open else f"the tenant is {self.status}"

    def ensure_open(self, what: str = "its subjects' consent cannot be written") -> None:
        if not self.is_open:
            raise TenantClosed(str(self.status), what)

    def ensure_data_may_leave(self) -> None:
        """A terminated tenant's data has become inaccessible: nothing of its subjects is
        exported, to an officer or to the person themselves."""
        self.ensure_open("its subjects' data cannot be exported")

    def ensure_customer_may_read(self, what: str) -> None:
        """While terminated (or purged), its customer reads only the tenant itself, its
        access log and its incidents: the rest of its data has become inaccessible."""
        if not self.is_open and what not in CUSTOMER_READABLE_WHILE_CLOSED:
            raise TenantClosed(
                str(self.status),
                f"its customer may read only the tenant, its access log and its incidents, not its {what}",
            )


def ensure_customer_may_read(status: str, what: str) -> None:
    """`TenantStanding.ensure_customer_may_read`, for callers that hold only the status."""
    TenantStanding(status).ensure_customer_may_read(what)


def status_set_by(topic: str) -> TenantStatus | None:
    """The status a tenant has after an event of this topic; None for an event that leaves it
    as it was (a move). Lets a caller learn a tenant's status from its last events' topics
    alone, without replaying (and decrypting) the tenant."""
    return _STATUS_SET_BY.get(topic)


_STATUS_SET_BY = {
    get_topic(Tenant.Created): TenantStatus.ACTIVE,
    get_topic(Tenant.Reactivated): TenantStatus.ACTIVE,
    get_topic(Tenant.Terminated): TenantStatus.TERMINATED,
    get_topic(Tenant.Purged): TenantStatus.PURGED,
}
