"""A tenant's mail contacts: the approvers mailed a pending access request and an incident
notice, and the language of the tenant's mail. Set by its customer or an officer.

Contacts are settings beside the log (projections/outbox/contacts.py), not events, so the write
answers no `position`. While the tenant is closed they are not changed, and its customer does
not read them (DESIGN.md §7: it reads only the tenant, its access log and its incidents).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from api.http.auth import Caller, Role
from api.http.deps import ContainerDep, CurrentLedgerDep, LedgerDep, allow
from api.http.idempotency import IdempotentRoute
from api.http.problems import documented
from api.schemas.webhooks import ContactsIn, ContactsOut
from api.services.subscriptions import save_contacts
from api.services.visibility import ensure_own_tenant
from domain.tenant import TenantStanding
from projections.outbox.contacts import DEFAULT_LANGUAGE

router = APIRouter(
    prefix="/v1/tenants/{tenant_id}/contacts", tags=["tenants"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 409, 422),
)
ContactKeeper = Annotated[Caller, Depends(allow(Role.CUSTOMER, Role.OFFICER))]


@router.get("")
def get_contacts(
    tenant_id: UUID, caller: ContactKeeper, ledger: CurrentLedgerDep, container: ContainerDep
) -> ContactsOut:
    """Whom the tenant's mail goes to, and in which language (none set: nobody, English)."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    standing = TenantStanding(ledger.tenant(tenant_id).status)  # 404 for no such tenant
    if caller.role is Role.CUSTOMER:
        standing.ensure_customer_may_read("contacts")
    found = container.contacts().contacts(tenant_id)
    if found is None:
        return ContactsOut(tenant_id=tenant_id, approver_emails=[], language=DEFAULT_LANGUAGE)
    return ContactsOut(
        tenant_id=tenant_id, approver_emails=list(found.approver_emails),
        language=found.language, updated_at=found.updated_at,
    )


@router.put("")
def set_contacts(
    tenant_id: UUID, body: ContactsIn, caller: ContactKeeper, ledger: LedgerDep,
    container: ContainerDep,
) -> ContactsOut:
    """Replace the tenant's approvers (1 to 20 addresses) and the language of its mail."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    kept = save_contacts(
        ledger, container.contacts(), tenant_id, body.approver_emails, body.language
    )
    return ContactsOut(
        tenant_id=tenant_id, approver_emails=list(kept.approver_emails),
        language=kept.language, updated_at=kept.updated_at,
    )
