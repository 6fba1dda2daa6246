"""Signing in to the privacy center: the e-mail form, the one-time link, and signing out.

`POST /privacy-center/sign-in` answers the same page with the same status for every
well-formed address, known or not; the look-up and the mail happen after the answer
(api/privacy_center/sign_in_mail.py), so neither the page nor its timing tells. Floods are
refused per address to be mailed (counted alike for known and unknown ones) and per client
address, with 429 and Retry-After.

The link's GET only shows a "Continue" button (mail scanners that fetch links spend nothing);
its POST spends it, once, and starts a session holding the address's subjects at that moment.
"""

from __future__ import annotations

import hashlib
import math
import re
from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import HTMLResponse

from api.privacy_center import links
from api.privacy_center.pages import (
    CenterDep,
    CenterRoute,
    Center,
    SESSION_COOKIE,
    FormField,
    end_session_cookie,
    form_token,
    form_token_matches,
    keep_form_token,
    render,
    see_other,
    start_session_cookie,
)
from api.privacy_center.sign_in_mail import send_if_known
from api.privacy_center.texts import language

router = APIRouter(route_class=CenterRoute, include_in_schema=False)
LONGEST_EMAIL = 254  # RFC 5321's longest path
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
NOTICES = {"signed-out": "signed_out"}
LINK_STATUS = {"invalid": 400, "expired": 410, "used": 410}


def _lang(request: Request, asked: str | None) -> str:
    return language(asked, request.headers.get("accept-language"))


def sign_in_form(
    request: Request, center: Center, lang: str, status: int = 200, *,
    template: str = "privacy_center/sign_in.html", headers: dict[str, str] | None = None,
    **context: object,
) -> HTMLResponse:
    token = form_token(request)
    response = render(
        request, lang, template, status, form_csrf=token,
        mail=center.settings.smtp_url is not None,
        minutes=center.settings.privacy_center_link_minutes,
        contact=center.settings.controller_contact, **context,
    )
    keep_form_token(request, response, token, center.settings)
    response.headers.update(headers or {})
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def sign_in_page(
    request: Request, center: CenterDep, lang: str | None = None, notice: str | None = None
) -> Response:
    lang = _lang(request, lang)
    if center.session(request) is not None and notice is None:
        return see_other(f"/privacy-center/me?lang={lang}")
    return sign_in_form(request, center, lang, notice=NOTICES.get(notice or ""))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request, center: CenterDep, tasks: BackgroundTasks,
    email: FormField = None, csrf_token: FormField = None, lang: FormField = None,
) -> Response:
    lang = _lang(request, lang)
    if center.settings.smtp_url is None:
        return sign_in_form(request, center, lang)  # the page says sign-in is not available
    if not form_token_matches(request, csrf_token):
        return sign_in_form(request, center, lang, 403, error="form_expired")
    address = (email or "").strip()
    if len(address) > LONGEST_EMAIL or not _EMAIL.match(address) or not address.isprintable():
        return sign_in_form(request, center, lang, 422, error="bad_email")
    limits = center.limits
    client = request.client.host if request.client else "unknown"
    wait = limits.per_address.admit(f"client:{client}")
    if wait is None:
        # Keyed by a hash of the address as typed (case aside), known or not: the same count.
        wait = limits.per_email.admit(hashlib.sha256(address.lower().encode()).hexdigest())
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        return sign_in_form(
            request, center, lang, 429, error="too_many", wait_minutes=minutes,
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    tasks.add_task(send_if_known, center.settings, center.reads, address, lang, center.now())
    return sign_in_form(request, center, lang, template="privacy_center/sent.html")


def link_refused(request: Request, center: Center, lang: str, why: str) -> HTMLResponse:
    return sign_in_form(request, center, lang, LINK_STATUS[why], error=f"link_{why}")


@router.get("/open", response_class=HTMLResponse)
def open_page(
    request: Request, center: CenterDep, link: str | None = None, lang: str | None = None
) -> Response:
    try:
        opened = links.open_link(center.settings, link, center.now())
    except links.LinkRefused as refused:
        return link_refused(request, center, _lang(request, lang), refused.why)
    lang = _lang(request, lang or opened.language)
    if center.sessions.was_spent(opened.link_id):
        return link_refused(request, center, lang, "used")
    return sign_in_form(request, center, lang, template="privacy_center/continue.html", link=link)


@router.post("/open", response_class=HTMLResponse)
def spend_link(
    request: Request, center: CenterDep, link: FormField = None, csrf_token: FormField = None,
    lang: FormField = None,
) -> Response:
    lang = _lang(request, lang)
    if not form_token_matches(request, csrf_token):
        return sign_in_form(request, center, lang, 403, error="form_expired")
    now = center.now()
    try:
        opened = links.open_link(center.settings, link, now)
    except links.LinkRefused as refused:
        return link_refused(request, center, lang, refused.why)
    if not center.sessions.spend_link(opened.link_id, opened.expires_at, now):
        return link_refused(request, center, lang, "used")
    subject_ids = [
        UUID(found["id"]) for found in center.reads.subjects_by_email(opened.email)
        if not found.get("erased")
    ]
    seconds = center.settings.privacy_center_session_minutes * 60
    center.sessions.end(request.cookies.get(SESSION_COOKIE))  # never carry one over
    session_id, _ = center.sessions.start(subject_ids, now + seconds, now)
    response = see_other(f"/privacy-center/me?lang={lang}")
    start_session_cookie(request, response, session_id, seconds, center.settings)
    return response


@router.post("/sign-out", response_class=HTMLResponse)
def sign_out(
    request: Request, center: CenterDep, csrf_token: FormField = None, lang: FormField = None
) -> Response:
    lang = _lang(request, lang)
    session = center.session(request)
    if session is not None and not session.accepts(csrf_token):
        return render(request, lang, "privacy_center/message.html", 403, error="form_expired")
    center.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = see_other(f"/privacy-center?lang={lang}&notice=signed-out")
    end_session_cookie(request, response, center.settings)
    return response
