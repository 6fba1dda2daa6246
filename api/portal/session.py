"""The portal's cookies: the session cookie, and the login form's CSRF cookie.

The browser holds only a random session id, in an HttpOnly, SameSite=Strict cookie (Secure
when the portal is served over https); the session itself is kept server-side
(projections/storage/portal_sessions.py), so logging out really ends it. Before there is a
session, the login form is protected by a double-submit token.
"""

from __future__ import annotations

import hmac
import secrets
import time

from fastapi import Request, Response

SESSION_COOKIE = "ledger_portal"
LOGIN_CSRF_COOKIE = "ledger_portal_login"
COOKIE_PATH = "/portal"
# A login page left open longer than this needs a reload before it can be submitted.
LOGIN_FORM_SECONDS = 3600


def is_secure(request: Request, public_url: str) -> bool:
    """Secure cookies when the browser talks https to us (directly or through a proxy that
    uvicorn trusts), or when the configured public address is https."""
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


def set_session_cookie(
    response: Response, session_id: str, expires_at: float, secure: bool
) -> None:
    response.set_cookie(
        SESSION_COOKIE, session_id, max_age=max(0, int(expires_at - time.time())),
        path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure,
    )


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure
    )


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
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=LOGIN_FORM_SECONDS, path=COOKIE_PATH,
        httponly=True, samesite="strict", secure=secure,
    )


def clear_login_csrf_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(
        LOGIN_CSRF_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure
    )


def login_csrf_matches(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted or "")
