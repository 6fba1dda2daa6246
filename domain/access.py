"""Support staff's access to a tenant's data: asked for, decided by the tenant, used under a grant.

Modelled on Customer Lockbox: nothing is looked at without the tenant's explicit yes, every
use and every refusal is an event, export and modify grants are used once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import resources as resource_names
from domain import upcasts, values
from domain.deadlines import has_lapsed
from domain.errors import (
    AccessRequestExpired,
    GrantEndedWithTenancy,
    GrantNotActive,
    RequesterCannotApprove,
    RequestNotPending,
)
from domain.grants import AccessPolicy, Grant, uncovered
from domain.personal import CarriesPersonalData
from domain.tenant import Tenant
from domain.vocabulary import ACCESS_REQUEST_IN_FORCE, AccessRequestStatus, Scope

TERMINATION_ENDED = "the tenant was terminated"


class AccessRequest(Aggregate):
    class Requested(Aggregate.Created, CarriesPersonalData):
        # Staff write the reason in their own words; it may well name people, so it is
        # shredded with the tenant. `tenancy`: the tenant's tenancy the request belongs to.
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasts.tenancy_unknown)
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
            request.status = AccessRequestStatus.APPROVED
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
            request.status = AccessRequestStatus.DENIED

    class Revoked(Aggregate.Event, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "tenant_id"
        tenant_id: UUID
        actor: str
        reason: str

        def apply(self, request: "AccessRequest") -> None:
            request.status = AccessRequestStatus.REVOKED

    class Expired(Aggregate.Event):
        """Nobody decided within the pending lifetime. Stamped when the ledger noticed (so an
        aggregate's timestamps never run backwards); `expires_at` says when it lapsed."""

        expires_at: datetime

        def apply(self, request: "AccessRequest") -> None:
            request.status = AccessRequestStatus.EXPIRED

    class GrantEnded(Aggregate.Event):
        """The grant's time ran out at `valid_until`; stamped when the ledger noticed."""

        valid_until: datetime

        def apply(self, request: "AccessRequest") -> None:
            request.status = AccessRequestStatus.ENDED

    class EndedWithTenancy(Aggregate.Event):
        """The tenant was terminated: a pending request or an active grant ends with its
        tenancy, and a reactivation revives none of them. `actor` terminated the tenant."""

        actor: str

        def apply(self, request: "AccessRequest") -> None:
            request.status = AccessRequestStatus.ENDED

    class AccessRecorded(Aggregate.Event):
        tenant_id: UUID
        actor: str
        resource: str
        action: str

        def apply(self, request: "AccessRequest") -> None:
            if self.action != Scope.READ.value:
                request.status = AccessRequestStatus.USED  # export and modify grants are used once

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
        self.status = AccessRequestStatus.PENDING
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
            cls.Requested, id=uuid4(), tenant_id=tenant.id, requester=requester,
            scope=values.choice("scope", Scope, scope).value,
            resources=resource_names.resources("resources", resources),
            reason=values.text("reason", reason, max_length=2000),
            ticket=values.text("ticket", ticket, required=False, max_length=200),
            duration_minutes=policy.asked_minutes(duration_minutes),
            expires_at=now + policy.pending_lifetime, tenancy=tenant.tenancy, timestamp=now,
        )

    def belongs_to_current_tenancy(self, tenant: Tenant) -> bool:
        """Asked in the tenant's current tenancy: no termination since it was asked."""
        if self.tenancy is None:  # asked before tenancies were counted
            return not tenant.terminated_since(self.created_on)
        return self.tenancy == tenant.tenancy

    # What time and the tenant have made of it
    def is_expired_pending(self, now: datetime) -> bool:
        """Nobody decided within the pending lifetime."""
        return self.status == AccessRequestStatus.PENDING and has_lapsed(self.expires_at, now)

    def grant_has_ended(self, now: datetime) -> bool:
        """An approved grant whose time ran out."""
        return (
            self.status == AccessRequestStatus.APPROVED and self.valid_until is not None
            and has_lapsed(self.valid_until, now)
        )

    def outlived_its_tenancy(self, tenant: Tenant) -> bool:
        """Still in force, but the tenant's termination ended its tenancy (or the tenant is
        closed): it ends, and a reactivation revives none."""
        return self.status in ACCESS_REQUEST_IN_FORCE and not (
            tenant.is_active and self.belongs_to_current_tenancy(tenant)
        )

    # Deciding
    def _ensure_pending(self, now: datetime) -> None:
        if self.status != AccessRequestStatus.PENDING:
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
        tenant.ensure_active()
        if not self.belongs_to_current_tenancy(tenant):
            raise GrantEndedWithTenancy()
        grant = Grant(self.scope, self.resources, self.duration_minutes).narrowed(
            scope, resources, duration_minutes
        )
        self.trigger_event(
            self.Approved, approver=approver, scope=grant.scope, resources=grant.resources,
            duration_minutes=grant.minutes, valid_until=now + timedelta(minutes=grant.minutes),
            timestamp=now,
        )

    def deny(self, actor: str, reason: str, now: datetime) -> None:
        if actor == self.requester:
            raise RequesterCannotApprove()
        self._ensure_pending(now)
        self._close_with_reason(self.Denied, actor, reason, now)

    def revoke(self, actor: str, reason: str, now: datetime) -> None:
        if self.status != AccessRequestStatus.APPROVED:
            raise GrantNotActive(self.status)
        self._close_with_reason(self.Revoked, actor, reason, now)

    def _close_with_reason(self, event_class: type, actor: str, reason: str, now: datetime) -> None:
        self.trigger_event(
            event_class, tenant_id=self.tenant_id, actor=actor,
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
        if not self.outlived_its_tenancy(tenant):
            return False
        self.trigger_event(self.EndedWithTenancy, actor=actor, timestamp=now)
        return True

    def end_grant_if_due(self, now: datetime) -> bool:
        if self.grant_has_ended(now):
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
        seen = dict(
            tenant_id=self.tenant_id, actor=actor, resource=resource, action=wanted.value,
            timestamp=now,
        )
        if refusal is None:
            self.trigger_event(self.AccessRecorded, **seen)
        else:
            self.trigger_event(self.AccessRefused, refusal=refusal, **seen)
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
        if self.status == AccessRequestStatus.USED:
            return "the grant was for one export or change and has been used"
        if self.status != AccessRequestStatus.APPROVED:
            return f"the request is {self.status}, not approved"
        assert self.valid_until is not None and self.granted_scope is not None
        if self.grant_has_ended(now):
            return "the grant has expired"
        return uncovered(self.granted_scope, self.granted_resources, resource, action)
