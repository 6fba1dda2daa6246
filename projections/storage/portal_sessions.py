"""The portal's sessions and spent login links, in two small tables of the ledger's database.

Kept server-side, so logging out really ends a session, and shared by every API process. The
browser holds only a random session id (its cookie: api/portal/session.py); the table keeps a
SHA-256 of that id, never the id itself, so a copy of the database does not let anyone take
over a session. Each session has its own CSRF token, which every form carries and every POST
must return. Sessions expire with the bearer token that opened them; wall-clock time is used
for that, as for the token's `exp`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from uuid import UUID

from projections.storage.database import Cursor, Database
from projections.storage.tables import Table, ensure_tables_once

PORTAL_SESSIONS = Table(
    "portal_sessions",
    "id_sha256 TEXT, actor TEXT NOT NULL, tenant_id TEXT NOT NULL, csrf_token TEXT NOT NULL, "
    "expires_at {big_int} NOT NULL",
    key=("id_sha256",),
)
PORTAL_SPENT_LINKS = Table(
    "portal_spent_links", "link_id TEXT, expires_at {big_int} NOT NULL", key=("link_id",)
)


@dataclass(frozen=True)
class PortalSession:
    actor: str
    tenant_id: UUID
    csrf_token: str
    expires_at: datetime

    def accepts(self, csrf_token: str | None) -> bool:
        return bool(csrf_token) and hmac.compare_digest(self.csrf_token, csrf_token or "")


def digest(value: str) -> str:
    """What the tables keep of a session id or browser id: its SHA-256, never the id."""
    return hashlib.sha256(value.encode()).hexdigest()


class SessionStore:
    """Sessions and spent login links; the tables are made on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _ensure_tables(self) -> None:
        ensure_tables_once(self.db, (PORTAL_SESSIONS, PORTAL_SPENT_LINKS))

    def start(
        self, actor: str, tenant_id: UUID, expires_at: float,
        also: Callable[[Cursor, str], None] | None = None,
    ) -> tuple[str, PortalSession]:
        """A new session until `expires_at` (unix seconds); answers the cookie value. `also`
        writes what belongs with it (a provider session) in the same transaction, given the
        session id's digest."""
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
                (digest(session_id), actor, str(tenant_id), csrf_token, int(expires_at)),
            )
            if also is not None:
                also(cursor, digest(session_id))
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
            (digest(session_id),),
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
        self.db.execute("DELETE FROM portal_sessions WHERE id_sha256 = %s", (digest(session_id),))

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
                (digest(link_id), int(expires_at)),
            )
            return cursor.rowcount == 1
