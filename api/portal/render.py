"""How the portal's pages are made and sent: the Jinja2 templates and their filters, the route
class that gives every answer its security headers, redirects, the pages that refuse, and the
stylesheet.

Server-rendered HTML, forms that post and redirect (Post/Redirect/Get), no script. Every
response carries a strict Content-Security-Policy (with a fresh nonce) and no-framing headers.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.deadlines import has_lapsed

from api.http.query_parameters import StrictQueryRoute, UnknownQueryParameters
from api.portal.chart import as_datetime
from projections.storage.portal_sessions import PortalSession

API_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = API_DIR / "static"

templates = Environment(
    loader=FileSystemLoader(API_DIR / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

EXPIRED = "expired"  # what `time_left` shows for a time limit that has run out
NOTICES = {
    "approved": "The request was approved.",
    "denied": "The request was denied.",
    "revoked": "The grant was revoked; it stopped working at once.",
    "logged-out": "You are logged out.",
}


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
                response = render(
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


def page_router() -> APIRouter:
    """The router of one area of pages: its routes answer with the portal's headers, and stay
    out of the API's documentation. Listed in api/portal/router.py."""
    return APIRouter(route_class=PortalRoute, include_in_schema=False)


router = page_router()


def render(
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


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def refuse_form(request: Request, session: PortalSession | None) -> HTMLResponse:
    return render(
        request, "portal/refused.html", 403, session=session,
        error="This form was not sent by this portal page (its security token is missing or "
        "wrong), so nothing was done. Reload the page and try again.",
    )


def session_ended(request: Request) -> HTMLResponse:
    return render(
        request, "portal/refused.html", 403,
        error="Your session has ended, so nothing was done. Log in again.",
    )


def _format_time(value: Any) -> str:
    if value in (None, ""):
        return ""
    return as_datetime(value).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _iso(value: Any) -> str:
    return "" if value in (None, "") else as_datetime(value).isoformat()


def time_left(until: Any, now: datetime) -> str:
    """What is left of a time limit (a pending request's, a grant's), in whole minutes rounded
    up; "expired" once it has run out by the domain's rule, so a request the ledger would
    still let the customer approve is never shown as expired."""
    if until in (None, ""):
        return ""
    limit = as_datetime(until)
    if has_lapsed(limit, now):
        return EXPIRED
    seconds = math.ceil((limit - now).total_seconds())
    hours, minutes = divmod((seconds + 59) // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


templates.filters["when"] = _format_time
templates.filters["iso"] = _iso


@router.get("/static/portal.css")
def stylesheet() -> Response:
    response = FileResponse(STATIC_DIR / "portal.css", media_type="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
