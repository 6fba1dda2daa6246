"""The privacy notice at /privacy: who the controller is, what is recorded and why, and the
rights of the people it is about. Open to anyone, no token.

The notice is versioned (`LEDGER_PRIVACY_NOTICE_VERSION`, shown on the page): the privacy
center records that version with every consent given there, and the banner with every choice
unless a site names its own. The page links to the privacy center, where a person sees and
changes their consents and exercises their rights themselves.

Consent receipts name it as their notice (api/services/receipts.py: `<public_url>/privacy`
unless `LEDGER_PRIVACY_NOTICE_URL` is set), so the link on every receipt resolves. When the
vendor publishes its own notice (`LEDGER_PRIVACY_NOTICE_URL`), /privacy redirects there, so
old links and receipts lead to the one notice in force.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.http.deps import SettingsDep
from api.http.query_parameters import StrictQueryRoute
from api.services.unsubscribe import PURPOSE_NAMES
from domain.vocabulary import Purpose

router = APIRouter(tags=["privacy (no login)"], route_class=StrictQueryRoute)

templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

WHY = {
    Purpose.INFO_MAIL: "mail with information about the service you use",
    Purpose.PRODUCT_MAIL: "mail about new or changed products",
    Purpose.BLOG_MAIL: "mail when new articles are published",
    Purpose.ANALYTICS_COOKIES: "cookies that count visits, to improve the website",
    Purpose.TRACKING_COOKIES: "cookies that follow visits across websites, for advertising",
    Purpose.PROFILING: "building a profile of your interests to tailor what you see",
    Purpose.THIRD_PARTY_MARKETING: "passing your contact details to partners for their offers",
    Purpose.MARKET_RESEARCH: "inviting you to surveys and interviews",
}
# The page needs nothing from anywhere else: the portal's stylesheet, no script, no frames.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Cache-Control": "public, max-age=300",
}
HTML = {200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        307: {"description": "to `LEDGER_PRIVACY_NOTICE_URL`, when it is set"}}


@router.get("/privacy", response_class=HTMLResponse, responses=HTML)
async def privacy_notice(settings: SettingsDep) -> Response:
    """The privacy notice (HTML): the controller, the purposes, and your rights."""
    if settings.privacy_notice_url:
        return RedirectResponse(settings.privacy_notice_url, status_code=307)
    purposes = [
        {"code": p.value, "name": PURPOSE_NAMES.get(p.value, p.value), "why": WHY.get(p, "")}
        for p in Purpose
    ]
    html = templates.get_template("privacy.html").render(
        controller=settings.controller_name, contact=settings.controller_contact,
        jurisdiction=settings.jurisdiction, purposes=purposes,
        version=settings.privacy_notice_version, center_url="/privacy-center",
    )
    return HTMLResponse(html, headers=HEADERS)
