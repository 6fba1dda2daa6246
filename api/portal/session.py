"""The portal's sessions: kept server-side, so logging out really ends them.

The browser holds only a random session id in an HttpOnly, SameSite=Strict cookie (Secure
when the portal is served over https). The table keeps a SHA-256 of that id, never the id
itself, so a copy of the database does not let anyone take over a session. Each session has
its own CSRF token, which every form carries and every POST must return.

Sessions live in the ledger's own database (SQLite or PostgreSQL), so several API processes
share them. They expire with the bearer token that opened them; wall-clock time is used for
that, as for the token's `exp`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from fastapi import Request, Response

from projections.storage.database import Database

SESSION_COOKIE = "ledger_portal"
LOGIN_CSRF_COOKIE = "ledger_portal_login"
COOKIE_PATH = "/portal"
# A login page left open longer than this needs a reload before it can be submitted.
LOGIN_FORM_SECONDS = 3600


@dataclass(frozen=True)
class PortalSession:
    actor: str
    tenant_id: UUID
    csrf_token: str
    expires_at: datetime

    def accepts(self, csrf_token: str | None) -> bool:
        return bool(csrf_token) and hmac.compare_digest(self.csrf_token, csrf_token or "")


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SessionStore:
    """Sessions and spent login links, in two small tables of the ledger's database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ready = False
        self._lock = threading.Lock()

    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            big_int = getattr(self.db, "big_int", "BIGINT")
            ddl = (
                "CREATE TABLE IF NOT EXISTS portal_sessions ("
                " id_sha256 TEXT PRIMARY KEY, actor TEXT NOT NULL, tenant_id TEXT NOT NULL,"
                f" csrf_token TEXT NOT NULL, expires_at {big_int} NOT NULL);"
                "CREATE TABLE IF NOT EXISTS portal_spent_links ("
                f" link_id TEXT PRIMARY KEY, expires_at {big_int} NOT NULL);"
            )
            try:
                self.db.executescript(ddl)
            except Exception:
                # Two processes creating the tables at the same moment: PostgreSQL lets one
                # of them fail on its catalogue; by now the other has made them.
                self.db.executescript(ddl)
            self._ready = True

    def start(self, actor: str, tenant_id: UUID, expires_at: float) -> tuple[str, PortalSession]:
        """A new session until `expires_at` (unix seconds); answers the cookie value."""
        self._ensure_tables()
        session_id = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        now = int(time.time())
        with self.db.transaction() as cursor:
            # Tidy up as we go: nobody else deletes expired sessions.
            cursor.execute("DELETE FROM portal_sessions WHERE expires_at <= %s", (now,))
            cursor.execute(
                "INSERT INTO portal_sessions (id_sha256, actor, tenant_id, csrf_token, expires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (_digest(session_id), actor, str(tenant_id), csrf_token, int(expires_at)),
            )
        return session_id, PortalSession(
            actor, tenant_id, csrf_token, datetime.fromtimestamp(int(expires_at), timezone.utc)
        )

    def find(self, session_id: str | None) -> PortalSession | None:
        if not session_id or len(session_id) > 200:
            return None
        self._ensure_tables()
        row = self.db.fetchone(
            "SELECT actor, tenant_id, csrf_token, expires_at FROM portal_sessions"
            " WHERE id_sha256 = %s",
            (_digest(session_id),),
        )
        if row is None or int(row[3]) <= time.time():
            return None
        return PortalSession(
            row[0], UUID(row[1]), row[2], datetime.fromtimestamp(int(row[3]), timezone.utc)
        )

    def end(self, session_id: str | None) -> None:
        if not session_id:
            return
        self._ensure_tables()
        self.db.execute("DELETE FROM portal_sessions WHERE id_sha256 = %s", (_digest(session_id),))

    def spend_link(self, link_id: str, expires_at: float) -> bool:
        """Marks a login link as used; False when it had been used before."""
        self._ensure_tables()
        now = int(time.time())
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM portal_spent_links WHERE expires_at <= %s", (now,))
            # ON CONFLICT rather than look-then-insert: two clicks at once spend it once.
            cursor.execute(
                "INSERT INTO portal_spent_links (link_id, expires_at) VALUES (%s, %s)"
                " ON CONFLICT (link_id) DO NOTHING",
                (_digest(link_id), int(expires_at)),
            )
            return cursor.rowcount == 1


# Cookies
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
