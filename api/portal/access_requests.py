"""The portal's home: the tenant's access requests, and the customer's decisions on them
(approve, possibly narrowed; deny; revoke a grant).

A decision goes to the Ledger application as the API's would; a rule it breaks becomes a
readable message on the page with the status the HTTP API would give (404, 422, 403, 409),
never a 500. Another tenant's request is "not found" (api/services/visibility.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from domain.errors import DomainError, InvalidInput
from domain.vocabulary import AccessRequestStatus, Scope

from api.http.problems import domain_status
from api.portal.login import login_form
from api.portal.render import (
    EXPIRED,
    NOTICES,
    page_router,
    refuse_form,
    render,
    see_other,
    session_ended,
    time_left,
)
from api.portal.services import FormField, PortalServices, ServicesDep, as_caller
from projections.storage.portal_sessions import PortalSession
from api.services.visibility import closed_status, ensure_own_tenant, not_found

router = page_router()


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request, services: ServicesDep, notice: str | None = None) -> Response:
    session = services.session(request)
    if session is None:
        return login_form(request, services)
    return requests_page(request, services, session, notice=NOTICES.get(notice or ""))


def requests_page(
    request: Request, services: PortalServices, session: PortalSession, status: int = 200,
    error: str | None = None, notice: str | None = None, failed_id: str | None = None,
) -> HTMLResponse:
    reads, tenant = services.reads, session.tenant_id
    closed = closed_status(reads, tenant)
    if closed is not None:
        # While closed, its customer reads only the tenant, its access log and its incidents.
        return render(
            request, "portal/requests.html", status, session=session, active="requests",
            closed=closed, error=error, notice=notice,
        )
    now = services.ledger.now()
    pending = reads.access_requests(
        tenant_id=tenant, status=AccessRequestStatus.PENDING, limit=100
    )
    active = reads.access_requests(
        tenant_id=tenant, status=AccessRequestStatus.APPROVED, limit=100
    )
    recent = reads.access_requests(tenant_id=tenant, limit=20)
    for item in pending["items"]:
        item["time_left"] = time_left(item.get("expires_at"), now)
        item["expired"] = item["time_left"] == EXPIRED  # no longer to be decided on
        item["narrower_scopes"] = [
            s.value for s in Scope if s.within(Scope(item["scope"]))
        ]
    for item in active["items"]:
        item["time_left"] = time_left(item.get("valid_until"), now)
    return render(
        request, "portal/requests.html", status, session=session, active="requests",
        pending=pending, grants=active, recent=recent, error=error, notice=notice,
        failed_id=failed_id,
    )


def _own_request(services: PortalServices, session: PortalSession, request_id: str) -> UUID:
    """The request's id if it belongs to the session's tenant."""
    try:
        rid = UUID(request_id)
    except ValueError:
        raise not_found("access request", request_id) from None
    owner = services.ledger.access_request(rid).tenant_id
    ensure_own_tenant(as_caller(session), owner, "access request", rid)
    return rid


def _decide(
    request: Request, services: PortalServices, csrf_token: str | None, request_id: str,
    notice: str, decide: Callable[[PortalSession, UUID], Any],
) -> Response:
    session = services.session(request)
    if session is None:
        return session_ended(request)
    if not session.accepts(csrf_token):
        return refuse_form(request, session)
    try:
        rid = _own_request(services, session, request_id)
        outcome = decide(session, rid)
    except DomainError as error:
        return requests_page(
            request, services, session, domain_status(error), error=error.detail,
            failed_id=request_id,
        )
    # Read-your-writes: the next page shows the decision, not the state before it.
    services.reads.wait_for(outcome.position, services.settings.read_wait_seconds)
    return see_other(f"/portal?notice={notice}")


def _whole_minutes(value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(
            "duration_minutes", "the duration (duration_minutes) must be a whole number of minutes"
        ) from None


def _resource_lines(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [line.strip() for line in value.splitlines() if line.strip()]


@router.post("/requests/{request_id}/approve")
def approve(
    request: Request, request_id: str, services: ServicesDep, csrf_token: FormField = None,
    scope: FormField = None, resources: FormField = None, duration_minutes: FormField = None,
) -> Response:
    def decide(session: PortalSession, rid: UUID) -> Any:
        return services.ledger.approve_access(
            rid, session.actor, duration_minutes=_whole_minutes(duration_minutes),
            scope=(scope or "").strip() or None, resources=_resource_lines(resources),
        )

    return _decide(request, services, csrf_token, request_id, "approved", decide)


def _with_reason(notice: str, decide: Callable[..., Any]) -> Callable[..., Response]:
    """The route of a decision that takes the customer's reason (deny, revoke):
    `decide(ledger, request_id, actor, reason)`."""

    def decide_with_reason(
        request: Request, request_id: str, services: ServicesDep, csrf_token: FormField = None,
        reason: FormField = None,
    ) -> Response:
        return _decide(
            request, services, csrf_token, request_id, notice,
            lambda session, rid: decide(services.ledger, rid, session.actor, reason or ""),
        )

    return decide_with_reason


deny = router.post("/requests/{request_id}/deny", name="deny")(
    _with_reason("denied", lambda ledger, *decision: ledger.deny_access(*decision))
)
revoke = router.post("/requests/{request_id}/revoke", name="revoke")(
    _with_reason("revoked", lambda ledger, *decision: ledger.revoke_access(*decision))
)
