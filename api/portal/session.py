"""The portal's cookies: the session cookie, the login form's CSRF cookie, and the cookie that
ties a sign-in at an OpenID Provider to the browser that started it.

The browser holds only a random session id, in an HttpOnly, SameSite=Strict cookie (Secure
when the portal is served over https); the session itself is kept server-side
(projections/storage/portal_sessions.py), so logging out really ends it. Before there is a
session, the login form is protected by a double-submit token.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Literal

from fastapi import Request, Response

SESSION_COOKIE = "ledger_portal"
LOGIN_CSRF_COOKIE = "ledger_portal_login"
SIGN_IN_COOKIE = "ledger_portal_sign_in"
COOKIE_PATH = "/portal"
# A login page left open longer than this needs a reload before it can be submitted.
LOGIN_FORM_SECONDS = 3600
# How long a customer has to sign in at the provider before the portal forgets the attempt.
SIGN_IN_SECONDS = 600


def is_secure(request: Request, public_url: str) -> bool:
    """Secure cookies when the browser talks https to us (directly or through a proxy that
    uvicorn trusts), or when the configured public address is https."""
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


SameSite = Literal["strict", "lax"]


# Every portal cookie is HttpOnly and scoped to /portal; they differ in name, lifetime and
# SameSite only.
def _set(
    response: Response, name: str, value: str, max_age: int, samesite: SameSite, secure: bool
) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
        samesite=samesite, secure=secure,
    )


def _clear(response: Response, name: str, samesite: SameSite, secure: bool) -> None:
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite=samesite, secure=secure
    )


def set_session_cookie(
    response: Response, session_id: str, expires_at: float, secure: bool
) -> None:
    max_age = max(0, int(expires_at - time.time()))
    _set(response, SESSION_COOKIE, session_id, max_age, "strict", secure)


def clear_session_cookie(response: Response, secure: bool) -> None:
    _clear(response, SESSION_COOKIE, "strict", secure)


def session_id_of(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


# Login CSRF: before there is a session, the login form is protected by a double-submit
# token (a random value in both a cookie and the form), so no other site can log a browser
# in under someone else's token.
def login_csrf_token(request: Request) -> str:
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def set_login_csrf_cookie(response: Response, token: str, secure: bool) -> None:
    _set(response, LOGIN_CSRF_COOKIE, token, LOGIN_FORM_SECONDS, "strict", secure)


def clear_login_csrf_cookie(response: Response, secure: bool) -> None:
    _clear(response, LOGIN_CSRF_COOKIE, "strict", secure)


def login_csrf_matches(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted or "")


# The sign-in cookie is SameSite=Lax, not Strict: it must come back with the provider's
# redirect to the callback, a top-level navigation from another site.
def set_sign_in_cookie(response: Response, browser_id: str, secure: bool) -> None:
    _set(response, SIGN_IN_COOKIE, browser_id, SIGN_IN_SECONDS, "lax", secure)


def clear_sign_in_cookie(response: Response, secure: bool) -> None:
    _clear(response, SIGN_IN_COOKIE, "lax", secure)


def sign_in_id_of(request: Request) -> str | None:
    return request.cookies.get(SIGN_IN_COOKIE)
