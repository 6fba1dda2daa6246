"""Staff ask for access to a tenant's data; its customer decides; staff use the grant.

Modelled on Customer Lockbox: nothing is looked at without the tenant's explicit yes, and
every use and every refusal is an event. Staff see their own requests only (another's is
404 to them); the requester can never approve, and only the requester may use a grant
(anyone else trying is refused, and the refusal is logged).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.auth import Caller, Role
from api.http.deps import (
    AccessRequestReader,
    ContainerDep,
    Customer,
    LedgerDep,
    ReadDep,
    Staff,
    StaffOrCustomer,
)
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented
from api.schemas.access import (
    AccessRecorded,
    AccessRequestCreate,
    AccessRequestCreated,
    AccessRequestOut,
    AccessUse,
    Approval,
    Approved,
    Decided,
    ReasonBody,
)
from api.schemas.base import one_of
from api.schemas.masking import MASK, for_caller
from api.services.visibility import (
    ensure_own_tenant,
    ensure_readable_by_customer,
    ensure_request_visible,
    not_found,
    requester_in_view,
)
from domain.access import AccessRequest
from domain.ledger import Ledger
from domain.vocabulary import AccessRequestStatus

router = APIRouter(
    tags=["staff access"], route_class=IdempotentRoute, responses=documented(401, 403, 404, 422)
)
WRITE = documented(409)
READ = documented(503)
WHAT = "access request"
# History entries whose detail is the decider's reason in their own words (personal data).
REASONED_EVENTS = frozenset({"denied", "revoked"})


def _shown(caller: Caller, item: dict[str, Any]) -> dict[str, Any]:
    if caller.role is not Role.AUDITOR:
        return item
    shown = for_caller(caller, item)
    for entry in shown.get("history") or []:
        if entry.get("event") in REASONED_EVENTS and entry.get("detail") is not None:
            entry["detail"] = MASK
    return shown


def _load_visible(ledger: Ledger, caller: Caller, request_id: UUID) -> AccessRequest:
    request = ledger.access_request(request_id)
    ensure_request_visible(caller, request_id, request.tenant_id, request.requester)
    return request


@router.post(
    "/v1/tenants/{tenant_id}/access-requests", status_code=201,
    responses=WRITE,
)
def request_access(
    tenant_id: UUID, body: AccessRequestCreate, caller: Staff, ledger: LedgerDep,
    container: ContainerDep,
) -> AccessRequestCreated:
    """Ask the tenant for access; pending requests expire after 12 hours. The decision is
    mailed to the address the caller's token names (`email`), if any."""
    if caller.email:
        container.contacts().remember_address(caller.key, caller.email, ledger.now())
    outcome = ledger.request_access(
        tenant_id, caller.actor, body.scope.value, body.resources, body.reason,
        ticket=body.ticket, duration_minutes=body.duration_minutes,
    )
    request = outcome.aggregate
    return AccessRequestCreated(
        id=request.id, status=request.status, expires_at=request.expires_at,
        position=outcome.position,
    )


@router.get("/v1/tenants/{tenant_id}/access-requests", responses=READ)
def list_access_requests(
    tenant_id: UUID, caller: AccessRequestReader, read: ReadDep, page: PagingDep,
    status: Annotated[
        one_of(AccessRequestStatus) | None, Query(description="only requests in this state")
    ] = None,
) -> Page[AccessRequestOut]:
    """The tenant's access requests, newest first (staff: only their own)."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    ensure_readable_by_customer(caller, read, "access requests")
    if caller.role is not Role.CUSTOMER and read.tenant(tenant_id) is None:
        raise not_found("tenant", tenant_id)
    found = fetch_page(page, lambda: read.access_requests(
        tenant_id=tenant_id, status=status, requester=requester_in_view(caller), after=page.after,
        limit=page.limit,
    ))
    return Page[AccessRequestOut].model_validate(
        {"items": [_shown(caller, item) for item in found["items"]], "next": found["next"]}
    )


@router.get("/v1/access-requests/{request_id}", responses=READ)
def get_access_request(
    request_id: UUID, caller: AccessRequestReader, read: ReadDep
) -> AccessRequestOut:
    """The request's state and its history (staff: only their own)."""
    found = read.access_request(request_id)
    if found is None:
        raise not_found(WHAT, request_id)
    ensure_request_visible(caller, request_id, found.get("tenant_id"), found.get("requester", ""))
    ensure_readable_by_customer(caller, read, "access requests")
    return AccessRequestOut.model_validate(_shown(caller, found))


@router.post("/v1/access-requests/{request_id}/approve", responses=WRITE)
def approve(
    request_id: UUID, caller: Customer, ledger: LedgerDep, body: Approval | None = None
) -> Approved:
    """The tenant's customer says yes, and may only narrow scope, resources or duration."""
    _load_visible(ledger, caller, request_id)
    body = body or Approval()
    outcome = ledger.approve_access(
        request_id, caller.actor, duration_minutes=body.duration_minutes,
        scope=body.scope.value if body.scope else None, resources=body.resources,
    )
    request = outcome.aggregate
    return Approved(
        id=request.id, status=request.status, scope=request.granted_scope,
        resources=request.granted_resources, valid_until=request.valid_until,
        position=outcome.position,
    )


@router.post("/v1/access-requests/{request_id}/deny", responses=WRITE)
def deny(request_id: UUID, body: ReasonBody, caller: Customer, ledger: LedgerDep) -> Decided:
    """The tenant's customer says no."""
    _load_visible(ledger, caller, request_id)
    outcome = ledger.deny_access(request_id, caller.actor, body.reason)
    return Decided(id=request_id, status=outcome.aggregate.status, position=outcome.position)


@router.post("/v1/access-requests/{request_id}/revoke", responses=WRITE)
def revoke(
    request_id: UUID, body: ReasonBody, caller: StaffOrCustomer, ledger: LedgerDep
) -> Decided:
    """End a grant at once: the tenant's customer, or the requester giving it back."""
    _load_visible(ledger, caller, request_id)
    outcome = ledger.revoke_access(request_id, caller.actor, body.reason)
    return Decided(id=request_id, status=outcome.aggregate.status, position=outcome.position)


@router.post(
    "/v1/access-requests/{request_id}/accesses", status_code=201,
    responses=WRITE,
)
def record_access(
    request_id: UUID, body: AccessUse, caller: Staff, ledger: LedgerDep
) -> AccessRecorded:
    """Record one look (or export, or change) under the grant: 201 when allowed; otherwise
    403, and the refusal is logged too (its `position` is in the problem body)."""
    outcome = ledger.use_access(request_id, caller.actor, body.resource, body.action.value)
    return AccessRecorded(
        request_id=request_id, outcome="allowed", resource=body.resource,
        action=body.action.value, position=outcome.position,
    )
