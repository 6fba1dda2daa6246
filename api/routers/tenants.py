"""Tenants' lifecycle (officer) and what a tenant looks like (officer, auditor, its customer)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from api.http.deps import (
    LedgerDep,
    Officer,
    OfficerOrAuditor,
    ReadDep,
    SettingsDep,
    TenantReader,
)
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented
from api.services.termination import terminate
from api.services.visibility import ensure_own_tenant, not_found
from api.schemas.base import one_of
from api.schemas.masking import for_caller
from api.schemas.tenants import (
    LocationMove,
    TenantChanged,
    TenantCreate,
    TenantCreated,
    TenantOut,
    TenantSummary,
)
from domain.tenant import Tenant
from domain.vocabulary import TenantStatus

router = APIRouter(
    prefix="/v1/tenants", tags=["tenants"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
WRITE = documented(409)
READ = documented(503)


def _changed(tenant: Tenant, position: int) -> TenantChanged:
    return TenantChanged(
        id=tenant.id, status=tenant.status, location=tenant.location,
        purge_after=tenant.purge_after, position=position,
    )


@router.post("", status_code=201, responses=WRITE)
def open_tenant(body: TenantCreate, caller: Officer, ledger: LedgerDep) -> TenantCreated:
    """Open a tenant. Its data starts in NL (or IE on failover)."""
    outcome = ledger.open_tenant(body.name, caller.actor, body.location)
    tenant = outcome.aggregate
    return TenantCreated(
        id=tenant.id, status=tenant.status, location=tenant.location, position=outcome.position
    )


@router.get("", responses=READ)
def list_tenants(
    caller: OfficerOrAuditor, read: ReadDep, page: PagingDep,
    status: Annotated[one_of(TenantStatus) | None, Query(description="only these")] = None,
) -> Page[TenantSummary]:
    """Tenants, newest first."""
    found = fetch_page(page, lambda: read.tenants(status=status, after=page.after, limit=page.limit))
    return Page[TenantSummary].model_validate(
        {"items": [for_caller(caller, t, frozenset({"name"})) for t in found["items"]],
         "next": found["next"]}
    )


@router.get("/{tenant_id}", responses=READ)
def get_tenant(tenant_id: UUID, caller: TenantReader, read: ReadDep) -> TenantOut:
    """Status, where its data has lived, and until when a terminated tenant may come back."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    tenant = read.tenant(tenant_id)
    if tenant is None:
        raise not_found("tenant", tenant_id)
    return TenantOut.model_validate(for_caller(caller, tenant, frozenset({"name"})))


@router.post("/{tenant_id}/terminate", responses=WRITE)
def terminate_tenant(
    tenant_id: UUID, caller: Officer, ledger: LedgerDep, read: ReadDep, settings: SettingsDep
) -> TenantChanged:
    """End the subscription: the data is inaccessible at once and kept 60 days, then purged.
    Every pending request and active grant ends with it (a reactivation revives none); from
    now until a reactivation its customer reads only the tenant, its access log and its
    incidents, and its subjects' consent is neither written nor answered "yes"."""
    outcome = terminate(ledger, read, tenant_id, caller.actor, settings.read_wait_seconds)
    return _changed(outcome.aggregate, outcome.position)


@router.post("/{tenant_id}/reactivate", responses=WRITE)
def reactivate_tenant(tenant_id: UUID, caller: Officer, ledger: LedgerDep) -> TenantChanged:
    """Bring a terminated tenant back within its 60 days (409 after, or once purged)."""
    outcome = ledger.reactivate_tenant(tenant_id, caller.actor)
    return _changed(outcome.aggregate, outcome.position)


@router.post("/{tenant_id}/location", responses=WRITE)
def move_tenant(
    tenant_id: UUID, body: LocationMove, caller: Officer, ledger: LedgerDep
) -> TenantChanged:
    """Move the tenant's data within the EU; anywhere but NL and IE needs a reason."""
    outcome = ledger.move_tenant_location(tenant_id, body.location, body.reason, caller.actor)
    return _changed(outcome.aggregate, outcome.position)
