"""Disclosures to third parties: recorded by the officer, read by the tenant's customer."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.http.deps import LedgerDep, Officer, ReadDep, TenantReader
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented
from api.schemas.base import Written
from api.schemas.disclosures import DisclosureCreate, DisclosureOut
from api.services.visibility import ensure_own_tenant, ensure_readable_by_customer, not_found

router = APIRouter(
    prefix="/v1/tenants/{tenant_id}/disclosures", tags=["disclosures"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)


@router.post("", status_code=201, responses=documented(409))
def record_disclosure(
    tenant_id: UUID, body: DisclosureCreate, caller: Officer, ledger: LedgerDep
) -> Written:
    """Data went to a third party: at the customer's request, by legal obligation or court order."""
    outcome = ledger.record_disclosure(
        tenant_id, body.recipient, body.legal_basis.value, body.reference, caller.actor,
        subject_ids=body.subject_ids,
    )
    return Written(id=outcome.aggregate.id, position=outcome.position)


@router.get("", responses=documented(503))
def list_disclosures(
    tenant_id: UUID, caller: TenantReader, read: ReadDep, page: PagingDep
) -> Page[DisclosureOut]:
    """The tenant's disclosures, newest first."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    ensure_readable_by_customer(caller, read, "disclosures")
    if read.tenant(tenant_id) is None:
        raise not_found("tenant", tenant_id)
    return Page[DisclosureOut].model_validate(
        fetch_page(page, lambda: read.disclosures(tenant_id, after=page.after, limit=page.limit))
    )
