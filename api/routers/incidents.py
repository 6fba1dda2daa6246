"""Security incidents: reported and notified by the officer; customers see those that touch them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from api.http.deps import LedgerDep, Officer, ReadDep, TenantReader
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented, field_problem
from api.schemas.incidents import (
    IncidentCreate,
    IncidentCreated,
    IncidentOut,
    NotificationCreate,
    NotificationRecorded,
)
from api.services.visibility import not_found, tenant_in_view
from domain.errors import NotFound
from domain.vocabulary import Recipient

router = APIRouter(
    prefix="/v1/incidents", tags=["incidents"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)


@router.post("", status_code=201, responses=documented(409))
def report_incident(body: IncidentCreate, caller: Officer, ledger: LedgerDep) -> IncidentCreated:
    """Report a breach; the authority is due 72 hours after the vendor became aware."""
    try:
        outcome = ledger.report_incident(
            body.title, body.description, body.severity, body.tenant_ids, caller.actor,
            aware_at=body.aware_at,
        )
    except NotFound as error:
        raise field_problem("tenant_ids", error.detail) from None
    incident = outcome.aggregate
    return IncidentCreated(
        id=incident.id, authority_due_at=incident.authority_due_at,
        overdue=incident.is_overdue(ledger.now()), position=outcome.position,
    )


@router.post("/{incident_id}/notifications", status_code=201, responses=documented(409))
def notify(
    incident_id: UUID, body: NotificationCreate, caller: Officer, ledger: LedgerDep
) -> NotificationRecorded:
    """Record that an affected customer, or the authority, has been told; `overdue` when the
    authority was not told within the 72 hours (told late is late)."""
    if body.recipient == Recipient.CUSTOMER:
        if body.tenant_id is None:
            raise field_problem("tenant_id", "name the customer (tenant) that was told")
        outcome = ledger.notify_customer_of_incident(incident_id, body.tenant_id, caller.actor)
    else:
        if not body.reference:
            raise field_problem("reference", "give the authority's reference")
        outcome = ledger.notify_authority_of_incident(incident_id, body.reference, caller.actor)
    return NotificationRecorded(
        incident_id=incident_id, recipient=body.recipient,
        tenant_id=body.tenant_id if body.recipient == Recipient.CUSTOMER else None,
        overdue=outcome.aggregate.is_overdue(ledger.now()), position=outcome.position,
    )


@router.get("", responses=documented(503))
def list_incidents(caller: TenantReader, read: ReadDep, page: PagingDep) -> Page[IncidentOut]:
    """Incidents with their 72-hour clock (a customer sees only those affecting its tenant)."""
    tenant = tenant_in_view(caller)
    return Page[IncidentOut].model_validate(
        fetch_page(page, lambda: read.incidents(tenant_id=tenant, after=page.after, limit=page.limit))
    )


@router.get("/{incident_id}", responses=documented(503))
def get_incident(incident_id: UUID, caller: TenantReader, read: ReadDep) -> IncidentOut:
    """The incident and its clock; a customer sees it only if its tenant is affected, and
    then without the other affected tenants."""
    found = read.incident(incident_id, tenant_id=tenant_in_view(caller))
    if found is None:
        raise not_found("incident", incident_id)
    return IncidentOut.model_validate(found)
