"""Logging into the portal and out of it: with a customer's bearer token, pasted or carried by a
signed login link (api/portal/login_links.py), into a server-side session (api/portal/session.py).
When customers sign in at their organisation's OpenID Provider instead
(api/portal/provider_login.py), the login page only sends them there, no token is taken here,
and logging out signs them out at the provider too.

Only customers log in here; a token of another role is refused with a page saying where its
holder goes instead. Every form carries a CSRF token: the login form one of its own (a cookie),
every later form the session's.
"""

from __future__ import annotations

import time

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from api.portal.login_links import InvalidLoginLink, open_login_link
from api.portal.provider_sessions import ENDED_NOTICES
from api.portal.render import NOTICES, page_router, refuse_form, render, see_other
from api.portal.services import FormField, PortalServices, ServicesDep, TokenRejected, Visitor
from api.portal.session import (
    clear_login_csrf_cookie,
    clear_session_cookie,
    is_secure,
    login_csrf_matches,
    login_csrf_token,
    session_id_of,
    set_login_csrf_cookie,
    set_session_cookie,
)

# A token without `exp` still gets a session that ends; a working day is long enough.
LONGEST_SESSION_SECONDS = 12 * 3600

SIGN_IN_AT_PROVIDER = (
    "This portal signs you in through your organisation's sign-in service: use the button "
    "below. Access tokens and login links cannot log in here."
)

router = page_router()


def not_for_role(role: str) -> str:
    return (
        f"This portal is for customer administrators. A token for the role '{role}' cannot "
        "log in here; staff, officers, auditors and witnesses use the API."
    )


def login_form(
    request: Request, services: PortalServices, status: int = 200, *,
    error: str | None = None, notice: str | None = None, link: str | None = None,
    link_for: Visitor | None = None,
) -> HTMLResponse:
    token = login_csrf_token(request)
    secure = is_secure(request, services.settings.public_url)
    ended = None
    if services.provider is not None and error is None:
        ended = services.provider.store.told(session_id_of(request))
    response = render(
        request, "portal/login.html", status, login_csrf=token, error=error,
        notice=ENDED_NOTICES.get(ended or "", notice), link=link, link_for=link_for,
        provider=services.provider is not None,
    )
    set_login_csrf_cookie(response, token, secure)
    if ended is not None:
        clear_session_cookie(response, secure)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, services: ServicesDep, link: str | None = None, notice: str | None = None,
) -> Response:
    if link and services.provider is not None:
        return login_form(request, services, 403, error=SIGN_IN_AT_PROVIDER)
    if link:
        try:
            opened = open_login_link(services.settings, link)
            visitor = services.verify_token(opened.token)
        except (InvalidLoginLink, TokenRejected) as error:
            return login_form(request, services, 400, error=str(error))
        return login_form(request, services, link=link, link_for=visitor)
    if services.session(request) is not None:
        return see_other("/portal")
    return login_form(request, services, notice=NOTICES.get(notice or ""))


@router.post("/login", response_class=HTMLResponse)
def log_in(
    request: Request, services: ServicesDep,
    token: FormField = None, link: FormField = None, csrf_token: FormField = None,
) -> Response:
    if services.provider is not None:
        return login_form(request, services, 403, error=SIGN_IN_AT_PROVIDER)
    if not login_csrf_matches(request, csrf_token):
        return login_form(
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
            return login_form(request, services, 422, error="Paste your access token (token).")
        visitor = services.verify_token(bearer)
    except InvalidLoginLink as error:
        return login_form(request, services, 400, error=str(error))
    except TokenRejected as error:
        return login_form(
            request, services, 401,
            error=f"That token cannot log you in: {error}. Ask your vendor contact for a new one.",
        )
    if not visitor.is_customer or visitor.tenant_id is None:
        return login_form(request, services, 403, error=not_for_role(visitor.role))
    if spend is not None and not services.sessions.spend_link(*spend):
        return login_form(
            request, services, 400,
            error="This login link was used already. Ask for a new one.",
        )
    expires_at = min(visitor.expires_at or float("inf"), time.time() + LONGEST_SESSION_SECONDS)
    services.sessions.end(session_id_of(request))  # never carry an old session over a login
    session_id, _ = services.sessions.start(visitor.actor, visitor.tenant_id, expires_at)
    response = see_other("/portal")
    secure = is_secure(request, services.settings.public_url)
    set_session_cookie(response, session_id, expires_at, secure)
    clear_login_csrf_cookie(response, secure)
    return response


@router.post("/logout")
def log_out(request: Request, services: ServicesDep, csrf_token: FormField = None) -> Response:
    session = services.session(request)
    if session is None:
        return see_other("/portal/login")
    if not session.accepts(csrf_token):
        return refuse_form(request, session)
    session_id = session_id_of(request)
    provider_logout = None
    if services.provider is not None and session_id is not None:
        provider_logout = services.provider.logout_url(session_id)
        services.provider.store.end(session_id)
    services.sessions.end(session_id)
    response: Response = see_other("/portal/login?notice=logged-out")
    if provider_logout is not None:
        # Not a redirect: the page's CSP (form-action 'self') would stop a form's redirect to
        # the provider, so the browser is moved on from a page of ours instead.
        response = render(
            request, "portal/continue.html", url=provider_logout,
            message="You are logged out here. Signing you out at your organisation…",
        )
    clear_session_cookie(response, is_secure(request, services.settings.public_url))
    return response
