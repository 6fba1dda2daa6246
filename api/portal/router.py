"""The customer portal's pages under /portal: log in, decide on requests, read the access log.

Server-rendered HTML (Jinja2), forms that post and redirect (Post/Redirect/Get), no script.
Every response carries a strict Content-Security-Policy and no-framing headers; every POST
checks the session's CSRF token. Domain errors become a readable message on the page with
the status the HTTP API would give (404, 422, 403, 409), never a 500.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.errors import DomainError, InvalidInput, NotFound
from domain.tenant import ACTIVE
from domain.values import Scope

from api.http.query_parameters import StrictQueryRoute, UnknownQueryParameters
from api.portal import access_log
from api.portal.access_log import OUTCOMES, FilterError, LogFilters
from api.portal.chart import as_datetime, chart_svg
from api.portal.login_links import InvalidLoginLink, open_login_link
from api.portal.services import PortalServices, TokenRejected, Visitor, portal_services
from api.portal.session import (
    PortalSession,
    clear_login_csrf_cookie,
    clear_session_cookie,
    is_secure,
    login_csrf_matches,
    login_csrf_token,
    session_id_of,
    set_login_csrf_cookie,
    set_session_cookie,
)
from api.http.problems import domain_status

API_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = API_DIR / "static"
# A token without `exp` still gets a session that ends; a working day is long enough.
LONGEST_SESSION_SECONDS = 12 * 3600

templates = Environment(
    loader=FileSystemLoader(API_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _content_security_policy(nonce: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class PortalRoute(StrictQueryRoute):
    """Adds the portal's security headers to every response of its routes, and shows an
    unknown query parameter (refused by the route class, api/http/query_parameters.py) as a
    page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_security_headers(request: Request) -> Response:
            request.state.csp_nonce = secrets.token_urlsafe(16)
            try:
                response = await handler(request)
            except UnknownQueryParameters as error:
                response = _render(
                    request, "portal/refused.html", 422,
                    error=f"This page does not take {', '.join(error.unknown)} in its address. "
                    "Open it from the portal's menu.",
                )
            headers = response.headers
            headers["Content-Security-Policy"] = _content_security_policy(
                request.state.csp_nonce
            )
            headers["X-Frame-Options"] = "DENY"
            headers["Referrer-Policy"] = "no-referrer"
            headers["X-Content-Type-Options"] = "nosniff"
            headers.setdefault("Cache-Control", "no-store")
            return response

        return with_security_headers


router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)

Services = Depends(portal_services)


# Rendering
def _render(
    request: Request, template: str, status: int = 200,
    session: PortalSession | None = None, **context: Any,
) -> HTMLResponse:
    html = templates.get_template(template).render(
        session=session,
        csrf_token=session.csrf_token if session else "",
        nonce=request.state.csp_nonce,
        error=context.pop("error", None),
        notice=context.pop("notice", None),
        active=context.pop("active", ""),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _format_time(value: Any) -> str:
    if value in (None, ""):
        return ""
    return as_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _iso(value: Any) -> str:
    return "" if value in (None, "") else as_datetime(value).isoformat()


def _time_left(until: Any, now: datetime) -> str:
    if until in (None, ""):
        return ""
    seconds = int((as_datetime(until) - now).total_seconds())
    if seconds <= 0:
        return "expired"
    hours, minutes = divmod((seconds + 59) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


templates.filters["when"] = _format_time
templates.filters["iso"] = _iso


NOTICES = {
    "approved": "The request was approved.",
    "denied": "The request was denied.",
    "revoked": "The grant was revoked; it stopped working at once.",
    "logged-out": "You are logged out.",
}


# Sessions
def _session(request: Request, services: PortalServices) -> PortalSession | None:
    return services.sessions.find(session_id_of(request))


def _refuse_form(request: Request, session: PortalSession | None) -> HTMLResponse:
    return _render(
        request, "portal/refused.html", 403, session=session,
        error="This form was not sent by this portal page (its security token is missing or "
        "wrong), so nothing was done. Reload the page and try again.",
    )


def _session_ended(request: Request) -> HTMLResponse:
    return _render(
        request, "portal/refused.html", 403,
        error="Your session has ended, so nothing was done. Log in again.",
    )


# Login and logout
def _login_page(
    request: Request, services: PortalServices, status: int = 200, *,
    error: str | None = None, notice: str | None = None, link: str | None = None,
    link_for: Visitor | None = None,
) -> HTMLResponse:
    token = login_csrf_token(request)
    response = _render(
        request, "portal/login.html", status, login_csrf=token, error=error, notice=notice,
        link=link, link_for=link_for,
    )
    set_login_csrf_cookie(response, token, is_secure(request, services.settings.public_url))
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, notice: str | None = None, services: PortalServices = Services
) -> Response:
    session = _session(request, services)
    if session is None:
        return _login_page(request, services)
    return _requests_page(request, services, session, notice=NOTICES.get(notice or ""))


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, link: str | None = None, notice: str | None = None,
    services: PortalServices = Services,
) -> Response:
    if link:
        try:
            opened = open_login_link(services.settings, link)
            visitor = services.verify_token(opened.token)
        except (InvalidLoginLink, TokenRejected) as error:
            return _login_page(request, services, 400, error=str(error))
        return _login_page(request, services, link=link, link_for=visitor)
    if _session(request, services) is not None:
        return _see_other("/portal")
    return _login_page(request, services, notice=NOTICES.get(notice or ""))


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request,
    token: str | None = Form(None),
    link: str | None = Form(None),
    csrf_token: str | None = Form(None),
    services: PortalServices = Services,
) -> Response:
    if not login_csrf_matches(request, csrf_token):
        return _login_page(
            request, services, 403,
            error="The login form had expired or was not sent by this page. Please try again.",
        )
    spend: tuple[str, float] | None = None
    try:
        if link:
            opened = open_login_link(services.settings, link)
            token, spend = opened.token, (opened.link_id, opened.expires_at)
        bearer = (token or "").strip()
        if bearer.lower().startswith("bearer "):
            bearer = bearer[7:].strip()
        if not bearer:
            return _login_page(request, services, 422, error="Paste your access token (token).")
        visitor = services.verify_token(bearer)
    except InvalidLoginLink as error:
        return _login_page(request, services, 400, error=str(error))
    except TokenRejected as error:
        return _login_page(
            request, services, 401,
            error=f"That token cannot log you in: {error}. Ask your vendor contact for a new one.",
        )
    if visitor.role != "customer" or visitor.tenant_id is None:
        return _login_page(
            request, services, 403,
            error=f"This portal is for customer administrators. A token for the role "
            f"'{visitor.role}' cannot log in here; staff, officers and auditors use the API.",
        )
    if spend is not None and not services.sessions.spend_link(*spend):
        return _login_page(
            request, services, 400,
            error="This login link was used already. Ask for a new one.",
        )
    expires_at = min(visitor.expires_at or float("inf"), time.time() + LONGEST_SESSION_SECONDS)
    services.sessions.end(session_id_of(request))  # never carry an old session over a login
    session_id, _ = services.sessions.start(visitor.actor, visitor.tenant_id, expires_at)
    response = _see_other("/portal")
    secure = is_secure(request, services.settings.public_url)
    set_session_cookie(response, session_id, expires_at, secure)
    clear_login_csrf_cookie(response, secure)
    return response


@router.post("/logout")
def log_out(
    request: Request, csrf_token: str | None = Form(None), services: PortalServices = Services
) -> Response:
    session = _session(request, services)
    if session is None:
        return _see_other("/portal/login")
    if not session.accepts(csrf_token):
        return _refuse_form(request, session)
    services.sessions.end(session_id_of(request))
    response = _see_other("/portal/login?notice=logged-out")
    clear_session_cookie(response, is_secure(request, services.settings.public_url))
    return response


# Access requests
def _requests_page(
    request: Request, services: PortalServices, session: PortalSession, status: int = 200,
    error: str | None = None, notice: str | None = None, failed_id: str | None = None,
) -> HTMLResponse:
    reads, tenant = services.reads, session.tenant_id
    closed = _closed(services, session)
    if closed is not None:
        return _render(
            request, "portal/requests.html", status, session=session, active="requests",
            closed=closed, error=error, notice=notice,
        )
    now = services.ledger.now()
    pending = reads.access_requests(tenant_id=tenant, status="pending", limit=100)
    active = reads.access_requests(tenant_id=tenant, status="approved", limit=100)
    recent = reads.access_requests(tenant_id=tenant, limit=20)
    for item in pending["items"]:
        item["time_left"] = _time_left(item.get("expires_at"), now)
        item["narrower_scopes"] = [
            s.value for s in Scope if s.within(Scope(item["scope"]))
        ]
    for item in active["items"]:
        item["time_left"] = _time_left(item.get("valid_until"), now)
    return _render(
        request, "portal/requests.html", status, session=session, active="requests",
        pending=pending, grants=active, recent=recent, error=error, notice=notice,
        failed_id=failed_id,
    )


def _closed(services: PortalServices, session: PortalSession) -> str | None:
    """The tenant's status when it is not active (terminated or purged), else None: while
    closed, its customer reads only the tenant, its access log and its incidents."""
    tenant = services.reads.tenant(session.tenant_id)
    status = None if tenant is None else tenant["status"]
    return None if status in (None, ACTIVE) else status


def _own_request(services: PortalServices, session: PortalSession, request_id: str) -> UUID:
    """The request's id if it belongs to the session's tenant; another tenant's request is
    'not found', so a customer cannot even learn that it exists."""
    try:
        rid = UUID(request_id)
    except ValueError:
        raise NotFound(f"no access request with id {request_id}") from None
    if services.ledger.access_request(rid).tenant_id != session.tenant_id:
        raise NotFound(f"no access request with id {rid}")
    return rid


def _decide(
    request: Request, services: PortalServices, csrf_token: str | None, request_id: str,
    notice: str, decide: Callable[[PortalSession, UUID], Any],
) -> Response:
    session = _session(request, services)
    if session is None:
        return _session_ended(request)
    if not session.accepts(csrf_token):
        return _refuse_form(request, session)
    try:
        rid = _own_request(services, session, request_id)
        outcome = decide(session, rid)
    except DomainError as error:
        return _requests_page(
            request, services, session, domain_status(error), error=error.detail,
            failed_id=request_id,
        )
    # Read-your-writes: the next page shows the decision, not the state before it.
    services.reads.wait_for(outcome.position, services.settings.read_wait_seconds)
    return _see_other(f"/portal?notice={notice}")


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
    request: Request,
    request_id: str,
    csrf_token: str | None = Form(None),
    scope: str | None = Form(None),
    resources: str | None = Form(None),
    duration_minutes: str | None = Form(None),
    services: PortalServices = Services,
) -> Response:
    def decide(session: PortalSession, rid: UUID) -> Any:
        return services.ledger.approve_access(
            rid, session.actor, duration_minutes=_whole_minutes(duration_minutes),
            scope=(scope or "").strip() or None, resources=_resource_lines(resources),
        )

    return _decide(request, services, csrf_token, request_id, "approved", decide)


@router.post("/requests/{request_id}/deny")
def deny(
    request: Request,
    request_id: str,
    csrf_token: str | None = Form(None),
    reason: str | None = Form(None),
    services: PortalServices = Services,
) -> Response:
    return _decide(
        request, services, csrf_token, request_id, "denied",
        lambda session, rid: services.ledger.deny_access(rid, session.actor, reason or ""),
    )


@router.post("/requests/{request_id}/revoke")
def revoke(
    request: Request,
    request_id: str,
    csrf_token: str | None = Form(None),
    reason: str | None = Form(None),
    services: PortalServices = Services,
) -> Response:
    return _decide(
        request, services, csrf_token, request_id, "revoked",
        lambda session, rid: services.ledger.revoke_access(rid, session.actor, reason or ""),
    )


# The access log
@router.get("/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    after: str | None = None,
    services: PortalServices = Services,
) -> Response:
    session = _session(request, services)
    if session is None:
        return _see_other("/portal/login")
    raw = {"since": since or "", "until": until or "", "actor": actor or "",
           "outcome": outcome or ""}
    days, capped = access_log.last_days(
        services.reads, session.tenant_id, services.ledger.now().astimezone(timezone.utc).date()
    )
    context: dict[str, Any] = dict(
        session=session, active="log", raw=raw, outcomes=OUTCOMES, chart=chart_svg(days),
        chart_capped=capped, chart_total=sum(d.total for d in days),
    )
    try:
        filters = LogFilters.parse(since, until, actor, outcome)
        entries = access_log.page(services.reads, session.tenant_id, filters, after)
    except FilterError as error:
        return _render(
            request, "portal/log.html", 422, entries=None, error=error.detail,
            error_field=error.field, **context,
        )
    return _render(
        request, "portal/log.html", entries=entries, error_field=None,
        next_url=f"/portal/log?{filters.query(after=entries['next'])}" if entries["next"] else None,
        first_url=f"/portal/log?{filters.query()}" if after else None,
        csv_url=f"/portal/log.csv?{filters.query()}", **context,
    )


@router.get("/log.csv")
def log_csv(
    request: Request,
    since: str | None = None,
    until: str | None = None,
    actor: str | None = None,
    outcome: str | None = None,
    services: PortalServices = Services,
) -> Response:
    session = _session(request, services)
    if session is None:
        return _see_other("/portal/login")
    try:
        filters = LogFilters.parse(since, until, actor, outcome)
    except FilterError as error:
        return _render(
            request, "portal/refused.html", 422, session=session, error=error.detail
        )
    stamp = services.ledger.now().astimezone(timezone.utc).strftime("%Y%m%d")
    return Response(
        access_log.csv_download(services.reads, session.tenant_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="access-log-{stamp}.csv"'},
    )


# Incidents and disclosures
@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, services: PortalServices = Services) -> Response:
    session = _session(request, services)
    if session is None:
        return _see_other("/portal/login")
    tenant = session.tenant_id
    incidents = services.reads.incidents(tenant_id=tenant, limit=100)
    for item in incidents["items"]:
        # An incident can concern several tenants: show this tenant's notification only,
        # never which other tenants were involved.
        notified = item.get("customers_notified") or {}
        item["we_were_told_at"] = notified.get(str(tenant)) or notified.get(tenant)
    disclosures = (
        None if _closed(services, session) else services.reads.disclosures(tenant, limit=100)
    )
    return _render(
        request, "portal/incidents.html", session=session, active="incidents",
        incidents=incidents, disclosures=disclosures,
    )


@router.get("/static/portal.css")
def stylesheet() -> Response:
    response = FileResponse(STATIC_DIR / "portal.css", media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response

