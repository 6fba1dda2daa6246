"""The portal's incidents page: the incidents that touch the tenant, with when it was told, and
its disclosures to third parties (not while the tenant is closed)."""

from __future__ import annotations

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from api.portal.render import page_router, render, see_other
from api.portal.services import ServicesDep
from api.services.visibility import closed_status

router = page_router()


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, services: ServicesDep) -> Response:
    session = services.session(request)
    if session is None:
        return see_other("/portal/login")
    tenant = session.tenant_id
    incidents = services.reads.incidents(tenant_id=tenant, limit=100)
    for item in incidents["items"]:
        # An incident can concern several tenants: show this tenant's notification only,
        # never which other tenants were involved.
        notified = item.get("customers_notified") or {}
        item["we_were_told_at"] = notified.get(str(tenant)) or notified.get(tenant)
    closed = closed_status(services.reads, tenant)
    disclosures = None if closed else services.reads.disclosures(tenant, limit=100)
    return render(
        request, "portal/incidents.html", session=session, active="incidents",
        incidents=incidents, disclosures=disclosures,
    )
