"""The `Idempotency-Key` table: who sent which key with which request, and the answer.

A claim inserts an in-progress row (the primary key makes that atomic across threads and
processes); the answer is stored on it once decided, or the row is deleted so a retry runs
again. A key lives LIFETIME; an in-progress claim older than ABANDONED_AFTER was abandoned
(its process killed, or the database stayed away), so it does not block its key for a day.
The HTTP side (which requests, what is answered) is api/http/idempotency.py.

A request is kept as its fingerprint, keyed by `fingerprint_key` (why keyed:
api/http/idempotency.py, `_fingerprint`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.clock import Clock
from projections.storage.database import Database
# As `_stamp`: the store's methods are left as `make mutate` judged them (docs/mutations/results).
from projections.storage.sortable_stamps import sortable_stamp as _stamp
from projections.storage.tables import Table, ensure_tables

LIFETIME = timedelta(hours=24)
SWEEP_EVERY = 500  # claims between two deletions of expired keys
# Longer than any request runs, so only a claim whose process died (or lost the database for
# good) is taken over by a retry.
ABANDONED_AFTER = timedelta(minutes=2)

MINE, DONE, BUSY = "mine", "done", "busy"

IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    "actor TEXT NOT NULL, key TEXT NOT NULL, body_sha256 TEXT NOT NULL, status INTEGER, "
    "response TEXT, created_at TEXT NOT NULL",
    key=("actor", "key"),
    indexes=("idempotency_keys_by_age ON idempotency_keys (created_at)",),
)


@dataclass(frozen=True)
class Claim:
    state: str
    body_sha256: str
    status: int | None = None
    response: str | None = None


class IdempotencyStore:
    def __init__(self, db: Database, clock: Clock, fingerprint_key: bytes) -> None:
        self.db = db
        self.clock = clock
        self.fingerprint_key = fingerprint_key
        self._claims = 0
        ensure_tables(db, (IDEMPOTENCY_KEYS,))

    def claim(self, actor: str, key: str, body_sha256: str, at: datetime | None = None) -> Claim:
        """`at`: the claim's moment (now by default), by which `withdraw` finds it."""
        now = at or self.clock.now()
        self._claims += 1
        if self._claims % SWEEP_EVERY == 0:
            self.forget_expired()  # keeps the table to about one day of keys
        with self.db.transaction() as cur:
            # A key older than its lifetime is forgotten, and an in-progress claim older than
            # ABANDONED_AFTER was abandoned: either way the request counts as new.
            cur.execute(
                "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND (created_at < %s "
                "OR (status IS NULL AND created_at < %s))",
                (actor, key, _stamp(now - LIFETIME), _stamp(now - ABANDONED_AFTER)),
            )
            cur.execute(
                "INSERT INTO idempotency_keys (actor, key, body_sha256, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (actor, key) DO NOTHING",
                (actor, key, body_sha256, _stamp(now)),
            )
            if cur.rowcount == 1:
                return Claim(MINE, body_sha256)
            cur.execute(
                "SELECT body_sha256, status, response FROM idempotency_keys "
                "WHERE actor = %s AND key = %s",
                (actor, key),
            )
            row = cur.fetchone()
        if row is None:  # released between our insert and select: try again
            return Claim(BUSY, body_sha256)
        stored_sha, status, response = row
        if status is None:
            return Claim(BUSY, stored_sha)
        return Claim(DONE, stored_sha, int(status), response)

    def finish(self, actor: str, key: str, status: int, response: str) -> None:
        self.db.execute(
            "UPDATE idempotency_keys SET status = %s, response = %s WHERE actor = %s AND key = %s",
            (status, response, actor, key),
        )

    def withdraw(self, actor: str, key: str, body_sha256: str, at: datetime) -> None:
        """Deletes the claim made `at` if it was stored after all and is still unanswered."""
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND body_sha256 = %s "
            "AND status IS NULL AND created_at = %s",
            (actor, key, body_sha256, _stamp(at)),
        )

    def release(self, actor: str, key: str) -> None:
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND status IS NULL",
            (actor, key),
        )

    def forget_expired(self) -> int:
        return self.db.execute(
            "DELETE FROM idempotency_keys WHERE created_at < %s",
            (_stamp(self.clock.now() - LIFETIME),),
        )


def fingerprint_key(root: bytes) -> bytes:
    """The requests' fingerprint key, derived from the key store's derivation root."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"compliance-ledger/idempotency/v1"
    ).derive(root)
