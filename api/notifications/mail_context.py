"""What a notice's e-mail says, gathered when it is sent: from what the delivery kept of its
notice and, for what a notice does not carry (an incident's description, a request's kind),
from the aggregate itself. Times are written in UTC, to the minute."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.ledger import Ledger
from domain.notifications import NoticeType
from projections.outbox.deliveries import Delivery


def when(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def mail_context(item: Delivery, ledger: Ledger, public_url: str) -> dict[str, Any]:
    data, base = item.payload.get("data", {}), public_url.rstrip("/")
    kind, about = item.type, UUID(item.about_id) if item.about_id else None
    if kind == NoticeType.ACCESS_REQUESTED:
        return {
            "requester": data.get("requester"), "scope": data.get("scope"),
            "resources": data.get("resources", []), "ticket": data.get("ticket"),
            "expires_at": when(data.get("expires_at")), "tenant_id": str(item.tenant_id),
            "decide_url": f"{base}/portal/#request-{about}",
        }
    if kind.startswith("access."):
        request = ledger.access_request(about)
        return {
            "request_id": str(about), "tenant_id": str(item.tenant_id),
            "scope": getattr(request, "granted_scope", None) or request.scope,
            "resources": list(getattr(request, "granted_resources", None) or request.resources),
            "valid_until": when(data.get("valid_until")), "link": data.get("link"),
        }
    if kind in (NoticeType.DATA_REQUEST_DUE_SOON, NoticeType.DATA_REQUEST_OVERDUE):
        request = ledger.data_request(about)
        return {
            "request_id": str(about), "kind": request.kind, "due_at": when(request.due_at),
            "link": data.get("link"),
        }
    incident = ledger.incident(about)
    if kind == NoticeType.INCIDENT_REPORTED:
        return {
            "incident_id": str(about), "title": incident.title, "severity": incident.severity,
            "aware_at": when(incident.aware_at), "description": incident.description,
            "link": f"{base}/portal/incidents",
        }
    return {
        "incident_id": str(about), "title": incident.title,
        "authority_due_at": when(incident.authority_due_at), "link": data.get("link"),
    }
