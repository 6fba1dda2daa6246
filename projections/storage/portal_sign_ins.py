"""What signing in to the portal through the customer's OpenID Provider keeps server-side: the
pending sign-ins (between the redirect to the provider and its answer) and, for each portal
session started that way, its provider session (api/portal/provider_sessions.py).

Both are keyed by a SHA-256 of an id the browser holds (projections.storage.portal_sessions
`digest`), never the id itself. A pending sign-in is taken, and deleted, in one transaction, so
an answer from the provider is used once however often the browser sends it. The provider's
tokens are stored sealed by the caller; this module never sees them in the clear.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from projections.storage.database import Cursor, Database
from projections.storage.portal_sessions import PORTAL_SESSIONS, SessionStore, digest
from projections.storage.tables import Table, ensure_tables_once

PORTAL_SIGN_INS = Table(
    "portal_sign_ins",
    "id_sha256 TEXT, state TEXT NOT NULL, nonce TEXT NOT NULL, code_verifier TEXT NOT NULL, "
    "expires_at {big_int} NOT NULL",
    key=("id_sha256",),
)
# `ended` says why the provider ended the session; the row outlives its portal session until
# the login page has told the visitor (or it expires).
PORTAL_PROVIDER_SESSIONS = Table(
    "portal_provider_sessions",
    "id_sha256 TEXT, issuer TEXT NOT NULL, subject TEXT NOT NULL, kid TEXT NOT NULL, "
    "sealed_id_token TEXT, sealed_refresh_token TEXT, check_at {big_int} NOT NULL, "
    "expires_at {big_int} NOT NULL, ended TEXT",
    key=("id_sha256",),
)


@dataclass(frozen=True)
class PendingSignIn:
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ProviderSession:
    issuer: str
    subject: str
    kid: str
    sealed_id_token: str | None
    sealed_refresh_token: str | None
    check_at: int
    ended: str | None


class SignInStore:
    """Pending sign-ins and provider sessions; the tables are made on first use."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _ensure_tables(self) -> None:
        ensure_tables_once(self.db, (PORTAL_SESSIONS, PORTAL_SIGN_INS, PORTAL_PROVIDER_SESSIONS))

    def begin(self, browser_id: str, pending: PendingSignIn, expires_at: float) -> None:
        self._ensure_tables()
        with self.db.transaction() as cursor:
            # Tidy up as we go: nobody else deletes abandoned sign-ins or forgotten sessions.
            now = int(time.time())
            cursor.execute("DELETE FROM portal_sign_ins WHERE expires_at <= %s", (now,))
            cursor.execute("DELETE FROM portal_provider_sessions WHERE expires_at <= %s", (now,))
            cursor.execute(
                "DELETE FROM portal_sign_ins WHERE id_sha256 = %s", (digest(browser_id),)
            )
            cursor.execute(
                "INSERT INTO portal_sign_ins (id_sha256, state, nonce, code_verifier, expires_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (digest(browser_id), pending.state, pending.nonce, pending.code_verifier,
                 int(expires_at)),
            )

    def take(self, browser_id: str | None) -> PendingSignIn | None:
        """The browser's pending sign-in, deleted as it is read; None when there is none left."""
        if not browser_id or len(browser_id) > 200:
            return None
        self._ensure_tables()
        with self.db.transaction() as cursor:
            # DELETE ... RETURNING: two answers at once cannot both take it (SQLite >= 3.35).
            cursor.execute(
                "DELETE FROM portal_sign_ins WHERE id_sha256 = %s"
                " RETURNING state, nonce, code_verifier, expires_at",
                (digest(browser_id),),
            )
            row = cursor.fetchone()
        if row is None or int(row[3]) <= time.time():
            return None
        return PendingSignIn(row[0], row[1], row[2])

    def start_session(
        self, sessions: SessionStore, actor: str, tenant_id: UUID, expires_at: float,
        provider_session: Callable[[str], ProviderSession],
    ) -> str:
        """A new portal session and its provider session, in one transaction; answers the
        session's cookie value. `provider_session` makes the row from the session id's digest
        (its tokens are sealed bound to it)."""
        self._ensure_tables()

        def keep(cursor: Cursor, session_digest: str) -> None:
            kept = provider_session(session_digest)
            cursor.execute(
                "INSERT INTO portal_provider_sessions (id_sha256, issuer, subject, kid,"
                " sealed_id_token, sealed_refresh_token, check_at, expires_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (session_digest, kept.issuer, kept.subject, kept.kid, kept.sealed_id_token,
                 kept.sealed_refresh_token, kept.check_at, int(expires_at)),
            )

        session_id, _ = sessions.start(actor, tenant_id, expires_at, also=keep)
        return session_id

    def find(self, session_id: str | None) -> ProviderSession | None:
        if not session_id or len(session_id) > 200:
            return None
        self._ensure_tables()
        row = self.db.fetchone(
            "SELECT issuer, subject, kid, sealed_id_token, sealed_refresh_token, check_at, ended"
            " FROM portal_provider_sessions WHERE id_sha256 = %s",
            (digest(session_id),),
        )
        return None if row is None else ProviderSession(*row[:5], int(row[5]), row[6])

    def claim_check(self, session_id: str, seen_check_at: int, next_check_at: int) -> bool:
        """Moves the next check on; True for the one request that did (it then asks the
        provider), so that two requests at once never spend one refresh token twice."""
        return self.db.execute(
            "UPDATE portal_provider_sessions SET check_at = %s"
            " WHERE id_sha256 = %s AND check_at = %s AND ended IS NULL",
            (int(next_check_at), digest(session_id), int(seen_check_at)),
        ) == 1

    def checked(
        self, session_id: str, kid: str, sealed_id_token: str | None,
        sealed_refresh_token: str | None, check_at: float,
    ) -> None:
        self.db.execute(
            "UPDATE portal_provider_sessions SET kid = %s, sealed_id_token = %s,"
            " sealed_refresh_token = %s, check_at = %s WHERE id_sha256 = %s AND ended IS NULL",
            (kid, sealed_id_token, sealed_refresh_token, int(check_at), digest(session_id)),
        )

    def end(self, session_id: str, why: str | None = None) -> None:
        """Ends the portal session and forgets the provider's tokens; with `why`, keeps that
        for the login page to tell (`told`)."""
        self._ensure_tables()
        with self.db.transaction() as cursor:
            cursor.execute(
                "DELETE FROM portal_sessions WHERE id_sha256 = %s", (digest(session_id),)
            )
            if why is None:
                cursor.execute(
                    "DELETE FROM portal_provider_sessions WHERE id_sha256 = %s",
                    (digest(session_id),),
                )
            else:
                cursor.execute(
                    "UPDATE portal_provider_sessions SET ended = %s, sealed_id_token = NULL,"
                    " sealed_refresh_token = NULL WHERE id_sha256 = %s",
                    (why, digest(session_id)),
                )

    def told(self, session_id: str | None) -> str | None:
        """Why the provider ended this session, once; None when it did not."""
        if not session_id or len(session_id) > 200:
            return None
        self._ensure_tables()
        with self.db.transaction() as cursor:
            cursor.execute(
                "DELETE FROM portal_provider_sessions WHERE id_sha256 = %s AND ended IS NOT NULL"
                " RETURNING ended",
                (digest(session_id),),
            )
            row = cursor.fetchone()
        return None if row is None else str(row[0])
