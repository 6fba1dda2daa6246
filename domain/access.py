"""Support staff's access to a tenant's data: asked for, decided by the tenant, used under a grant.

Modelled on Customer Lockbox: nothing is looked at without the tenant's explicit yes, every
use and every refusal is an event, export and modify grants are used once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import resources as resource_names
from domain import values
from domain.deadlines import DEFAULT_GRANT, MAXIMUM_GRANT, PENDING_ACCESS_REQUEST_LIFETIME
from domain.errors import (
    AccessRequestExpired,
    ApprovalMayOnlyNarrow,
    DurationTooLong,
    GrantEndedWithTenancy,
    GrantNotActive,
    NotTheRequester,
    RequesterCannotApprove,
    RequestNotPending,
    TenantNotActive,
)
from domain.personal import CarriesPersonalData
from domain.tenant import Tenant
from domain.values import Scope

PENDING, APPROVED, DENIED, REVOKED, EXPIRED, USED, ENDED = (
    "pending", "approved", "denied", "revoked", "expired", "used", "ended",
)
TERMINATION_ENDED = "the tenant was terminated"


def _tenancy_unknown(state: dict[str, Any]) -> None:
    """Requests asked before tenancies were counted: judged by the termination times."""
    state["tenancy"] = None


@dataclass(frozen=True)
class AccessPolicy:
    """How long things last; the defaults are DESIGN.md §7's, deployments may tighten them."""

    pending_lifetime: timedelta = PENDING_ACCESS_REQUEST_LIFETIME
    default_grant: timedelta = DEFAULT_GRANT
    maximum_grant: timedelta = MAXIMUM_GRANT


class AccessRequest(Aggregate):
    class Requested(Aggregate.Created, CarriesPersonalData):
        # Staff write the reason in their own words; it may well name people, so it is
        # shredded with the tenant. `tenancy`: the tenant's tenancy the request belongs to.
        class_version = 2
        upcast_v1_v2 = staticmethod(_tenancy_unknown)
        personal_fields = ("reason",)
        data_owner = "tenant_id"
        tenant_id: UUID
        requester: str
        scope: str
        resources: list[str]
        reason: str
        ticket: str | None
        duration_minutes: int
        expires_at: datetime
        tenancy: int | None

    class Approved(Aggregate.Event):
        approver: str
        scope: str
        resources: list[str]
        duration_minutes: int
        valid_until: datetime

        def apply(self, request: "AccessRequest") -> None:
            request.status = APPROVED
            request.approver = self.approver
            request.granted_scope = self.scope
            request.granted_resources = list(self.resources)
            request.valid_until = self.valid_until

    class Denied(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "tenant_id"
        tenant_id: UUID
        actor: str
        reason: str

        def apply(self, request: "AccessRequest") -> None:
            request.status = DENIED

    class Revoked(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "tenant_id"
        tenant_id: UUID
        actor: str
        reason: str

        def apply(self, request: "AccessRequest") -> None:
            request.status = REVOKED

    class Expired(Aggregate.Event):
        """Nobody decided within the pending lifetime. Stamped when the ledger noticed (so an
        aggregate's timestamps never run backwards); `expires_at` says when it lapsed."""

        expires_at: datetime

        def apply(self, request: "AccessRequest") -> None:
            request.status = EXPIRED

    class GrantEnded(Aggregate.Event):
        """The grant's time ran out at `valid_until`; stamped when the ledger noticed."""

        valid_until: datetime

        def apply(self, request: "AccessRequest") -> None:
            request.status = ENDED

    class EndedWithTenancy(Aggregate.Event):
        """The tenant was terminated: a pending request or an active grant ends with its
        tenancy, and a reactivation revives none of them. `actor` terminated the tenant."""

        actor: str

        def apply(self, request: "AccessRequest") -> None:
            request.status = ENDED

    class AccessRecorded(Aggregate.Event):
        tenant_id: UUID
        actor: str
        resource: str
        action: str

        def apply(self, request: "AccessRequest") -> None:
            if self.action != Scope.READ.value:
                request.status = USED  # export and modify grants are used once

    class AccessRefused(Aggregate.Event):
        tenant_id: UUID
        actor: str
        resource: str
        action: str
        refusal: str

    def __init__(
        self, tenant_id: UUID, requester: str, scope: str, resources: list[str],
        ticket: str | None, duration_minutes: int, expires_at: datetime,
        tenancy: int | None = None, **_: Any,
    ) -> None:
        # The reason stays in the event, not here: the request's state holds nothing
        # personal, so it may be kept in snapshots (a grant used thousands of times loads
        # from its last snapshot, not from its first event).
        self.tenant_id = tenant_id
        self.requester = requester
        self.scope = scope
        self.resources = list(resources)
        self.tenancy = tenancy
        self.ticket = ticket
        self.duration_minutes = duration_minutes
        self.expires_at = expires_at
        self.status = PENDING
        self.approver: str | None = None
        self.granted_scope: str | None = None
        self.granted_resources: list[str] = []
        self.valid_until: datetime | None = None

    @classmethod
    def ask(
        cls, tenant: Tenant, requester: str, scope: str, resources: list[str], reason: str,
        ticket: str | None, duration_minutes: int | None, now: datetime,
        policy: AccessPolicy = AccessPolicy(),
    ) -> "AccessRequest":
        tenant.ensure_active()
        return cls._create(
            cls.Requested,
            id=uuid4(),
            tenant_id=tenant.id,
            requester=requester,
            scope=values.choice("scope", Scope, scope).value,
            resources=resource_names.resources("resources", resources),
            reason=values.text("reason", reason, max_length=2000),
            ticket=values.text("ticket", ticket, required=False, max_length=200),
            duration_minutes=_duration(duration_minutes, policy),
            expires_at=now + policy.pending_lifetime,
            tenancy=tenant.tenancy,
            timestamp=now,
        )

    @property
    def requested_at(self) -> datetime:
        return self.created_on

    def belongs_to_current_tenancy(self, tenant: Tenant) -> bool:
        """Asked in the tenant's current tenancy: no termination since it was asked."""
        if self.tenancy is None:  # asked before tenancies were counted
            return not tenant.terminated_since(self.requested_at)
        return self.tenancy == tenant.tenancy

    # Deciding
    def is_expired_pending(self, now: datetime) -> bool:
        return self.status == PENDING and now >= self.expires_at

    def _ensure_pending(self, now: datetime) -> None:
        if self.status != PENDING:
            raise RequestNotPending(self.status)
        if self.is_expired_pending(now):
            raise AccessRequestExpired()

    def approve(
        self, approver: str, tenant: Tenant, now: datetime,
        duration_minutes: int | None = None, scope: str | None = None,
        resources: list[str] | None = None,
    ) -> None:
        if approver == self.requester:
            raise RequesterCannotApprove()
        self._ensure_pending(now)
        if not tenant.is_active:
            raise TenantNotActive(tenant.status)
        if not self.belongs_to_current_tenancy(tenant):
            raise GrantEndedWithTenancy()
        granted_scope = self.scope if scope is None else values.choice("scope", Scope, scope).value
        if not Scope(granted_scope).within(Scope(self.scope)):
            raise ApprovalMayOnlyNarrow(
                "scope",
                f"the request asked for {self.scope}; approval may keep it or narrow it to read",
            )
        granted_resources = resource_names.resources(
            "resources", self.resources if resources is None else resources
        )
        for resource in granted_resources:
            if not any(resource_names.covers(asked, resource) for asked in self.resources):
                raise ApprovalMayOnlyNarrow(
                    "resources", f"{resource!r} was not among the requested resources"
                )
        minutes = self.duration_minutes
        if duration_minutes is not None:
            values.whole_number("duration_minutes", duration_minutes, minimum=1)
            if duration_minutes > self.duration_minutes:
                raise ApprovalMayOnlyNarrow(
                    "duration_minutes",
                    f"the request asked for {self.duration_minutes} minutes; approval may not lengthen it",
                )
            minutes = duration_minutes
        self.trigger_event(
            self.Approved,
            approver=approver,
            scope=granted_scope,
            resources=granted_resources,
            duration_minutes=minutes,
            valid_until=now + timedelta(minutes=minutes),
            timestamp=now,
        )

    def deny(self, actor: str, reason: str, now: datetime) -> None:
        if actor == self.requester:
            raise RequesterCannotApprove()
        self._ensure_pending(now)
        self.trigger_event(
            self.Denied, tenant_id=self.tenant_id, actor=actor,
            reason=values.text("reason", reason, max_length=2000), timestamp=now,
        )

    def revoke(self, actor: str, reason: str, now: datetime) -> None:
        if self.status != APPROVED:
            raise GrantNotActive(self.status)
        self.trigger_event(
            self.Revoked, tenant_id=self.tenant_id, actor=actor,
            reason=values.text("reason", reason, max_length=2000), timestamp=now,
        )

    # Time passing
    def expire_if_due(self, now: datetime) -> bool:
        if self.is_expired_pending(now):
            self.trigger_event(self.Expired, expires_at=self.expires_at, timestamp=now)
            return True
        return False

    def end_with_tenancy(self, tenant: Tenant, actor: str, now: datetime) -> bool:
        """Ends a pending request or an active grant whose tenancy the tenant's termination
        ended. True when it ended it; False when there was nothing to end."""
        if self.status not in (PENDING, APPROVED) or (
            tenant.is_active and self.belongs_to_current_tenancy(tenant)
        ):
            return False
        self.trigger_event(self.EndedWithTenancy, actor=actor, timestamp=now)
        return True

    def end_grant_if_due(self, now: datetime) -> bool:
        if self.status == APPROVED and self.valid_until is not None and now >= self.valid_until:
            self.trigger_event(self.GrantEnded, valid_until=self.valid_until, timestamp=now)
            return True
        return False

    # Using
    def use(
        self, actor: str, resource: str, action: str, tenant: Tenant, now: datetime
    ) -> str | None:
        """Record one access under the grant. Returns None when allowed, else the refusal,
        which is recorded too: a refused look is as much a fact as an allowed one. A resource
        that is no valid name is refused at the door (InvalidInput), before anything."""
        resource = resource_names.resource("resource", resource)
        wanted = values.choice("action", Scope, action)
        refusal = self._refusal(actor, resource, Scope(wanted), tenant, now)
        if refusal is None:
            self.trigger_event(
                self.AccessRecorded, tenant_id=self.tenant_id, actor=actor,
                resource=resource, action=wanted.value, timestamp=now,
            )
        else:
            self.trigger_event(
                self.AccessRefused, tenant_id=self.tenant_id, actor=actor,
                resource=resource, action=wanted.value, refusal=refusal, timestamp=now,
            )
        return refusal

    def _refusal(
        self, actor: str, resource: str, action: Scope, tenant: Tenant, now: datetime
    ) -> str | None:
        if actor != self.requester:
            return "only the requester may use this grant"
        if not tenant.is_active:
            return f"the tenant is {tenant.status}"
        if not self.belongs_to_current_tenancy(tenant):
            return "the grant ended when the tenant was terminated"
        if self.status == USED:
            return "the grant was for one export or change and has been used"
        if self.status != APPROVED:
            return f"the request is {self.status}, not approved"
        assert self.valid_until is not None and self.granted_scope is not None
        if now >= self.valid_until:
            return "the grant has expired"
        if not any(resource_names.covers(g, resource) for g in self.granted_resources):
            return f"{resource!r} is outside the granted resources"
        if not Scope(self.granted_scope).permits(action):
            return f"a {self.granted_scope} grant does not permit {action.value}"
        return None

    def ensure_requester(self, actor: str) -> None:
        if actor != self.requester:
            raise NotTheRequester()


def _duration(minutes: int | None, policy: AccessPolicy) -> int:
    if minutes is None:
        return int(policy.default_grant.total_seconds() // 60)
    maximum = int(policy.maximum_grant.total_seconds() // 60)
    values.whole_number("duration_minutes", minutes, minimum=1)
    if minutes > maximum:
        raise DurationTooLong(maximum)
    return minutes
