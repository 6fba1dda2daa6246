"""The privacy center's sessions and spent sign-in links, in two small tables of the ledger's
database (api/privacy_center/ uses them).

A person who followed a one-time link holds only a random session id (the cookie
`ledger_privacy_center`); the table keeps its SHA-256 (projections.storage.portal_sessions
`digest`), never the id, and the subject ids the address named when the session started,
never the address. A link is spent by inserting its id as a primary key, so two clicks at
once spend it once. These are not the portal's tables: a portal session opens nothing here,
nor the other way round.

Times are unix seconds given by the caller (the ledger's clock), so that tests can move them.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from uuid import UUID

from projections.storage.database import Database
from projections.storage.portal_sessions import digest
from projections.storage.tables import Table, ensure_tables_once

PRIVACY_CENTER_SESSIONS = Table(
    "privacy_center_sessions",
    "id_sha256 TEXT, subject_ids TEXT NOT NULL, csrf_token TEXT NOT NULL, "
    "expires_at {big_int} NOT NULL",
    key=("id_sha256",),
)
PRIVACY_CENTER_SPENT_LINKS = Table(
    "privacy_center_spent_links", "link_id TEXT, expires_at {big_int} NOT NULL",
    key=("link_id",),
)
TABLES = (PRIVACY_CENTER_SESSIONS, PRIVACY_CENTER_SPENT_LINKS)
LONGEST_ID = 200  # a cookie or link id longer than this is not one of ours


@dataclass(frozen=True)
class CenterSession:
    subject_ids: tuple[UUID, ...]
    csrf_token: str
    expires_at: int

    def accepts(self, csrf_token: str | None) -> bool:
        return bool(csrf_token) and hmac.compare_digest(self.csrf_token, csrf_token or "")

    def holds(self, subject_id: str | None) -> UUID | None:
        """The session's subject named by a form, or None when it is not one of them."""
        for held in self.subject_ids:
            if subject_id == str(held):
                return held
        return None


class CenterSessionStore:
    """Sessions and spent links; the tables are made on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _ensure_tables(self) -> None:
        ensure_tables_once(self.db, TABLES)

    def spend_link(self, link_id: str, expires_at: int, now: int) -> bool:
        """Marks a link as used; False when it had been used before."""
        self._ensure_tables()
        with self.db.transaction() as cursor:
            # Tidy up as we go: a spent link past its expiry is refused for that alone.
            cursor.execute(
                "DELETE FROM privacy_center_spent_links WHERE expires_at <= %s", (now,)
            )
            cursor.execute(
                "INSERT INTO privacy_center_spent_links (link_id, expires_at) VALUES (%s, %s)"
                " ON CONFLICT (link_id) DO NOTHING",
                (digest(link_id), int(expires_at)),
            )
            return cursor.rowcount == 1

    def was_spent(self, link_id: str) -> bool:
        self._ensure_tables()
        return self.db.fetchone(
            "SELECT 1 FROM privacy_center_spent_links WHERE link_id = %s", (digest(link_id),)
        ) is not None

    def start(self, subject_ids: list[UUID], expires_at: int, now: int) -> tuple[str, CenterSession]:
        """A new session until `expires_at`; answers the cookie value and the session."""
        self._ensure_tables()
        session_id = secrets.token_urlsafe(32)
        session = CenterSession(tuple(subject_ids), secrets.token_urlsafe(32), int(expires_at))
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM privacy_center_sessions WHERE expires_at <= %s", (now,))
            cursor.execute(
                "INSERT INTO privacy_center_sessions (id_sha256, subject_ids, csrf_token,"
                " expires_at) VALUES (%s, %s, %s, %s)",
                (digest(session_id), json.dumps([str(s) for s in subject_ids]),
                 session.csrf_token, session.expires_at),
            )
        return session_id, session

    def find(self, session_id: str | None, now: int) -> CenterSession | None:
        if not session_id or len(session_id) > LONGEST_ID:
            return None
        self._ensure_tables()
        row = self.db.fetchone(
            "SELECT subject_ids, csrf_token, expires_at FROM privacy_center_sessions"
            " WHERE id_sha256 = %s",
            (digest(session_id),),
        )
        if row is None or int(row[2]) <= now:
            return None
        return CenterSession(tuple(UUID(s) for s in json.loads(row[0])), row[1], int(row[2]))

    def end(self, session_id: str | None) -> None:
        if not session_id or len(session_id) > LONGEST_ID:
            return
        self._ensure_tables()
        self.db.execute(
            "DELETE FROM privacy_center_sessions WHERE id_sha256 = %s", (digest(session_id),)
        )
