"""The data-key table: wrapped keys per subject and tenant, kept apart from the events.

A shredded key's row stays, with no key material, as the fence that stops the key from
ever being created again.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from uuid import UUID

from domain.keys import KeyShredded, MasterKey, new_data_key
from projections.database import Database

# Unwrapped keys are cached briefly. Another process that shreds a key cannot reach this
# cache, so the time-to-live bounds how long a second process may still read an erased
# person's fields (documented in docs/domain.md, "Cache TTL and several processes").
CACHE_SECONDS = 5.0


class SqlKeyStore:
    def __init__(self, db: Database, master: MasterKey) -> None:
        self.db = db
        self.master = master
        self._cache: dict[UUID, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        db.executescript(
            f"""
            CREATE TABLE IF NOT EXISTS data_keys (
                owner_id TEXT PRIMARY KEY,
                tenant_id TEXT,
                wrapped_key {db.blob},
                created_at TEXT NOT NULL,
                shredded_at TEXT
            );
            CREATE INDEX IF NOT EXISTS data_keys_by_tenant ON data_keys (tenant_id);
            """
        )

    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        wrapped = self.master.wrap(owner_id, new_data_key())
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO data_keys (owner_id, tenant_id, wrapped_key, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (owner_id) DO NOTHING",
                (str(owner_id), str(tenant_id) if tenant_id else None, wrapped, _now()),
            )
            cur.execute("SELECT wrapped_key FROM data_keys WHERE owner_id = %s", (str(owner_id),))
            row = cur.fetchone()
        if row[0] is None:
            raise KeyShredded()

    def get(self, owner_id: UUID) -> bytes | None:
        hit = self._cache.get(owner_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        row = self.db.fetchone(
            "SELECT wrapped_key FROM data_keys WHERE owner_id = %s", (str(owner_id),)
        )
        if row is None or row[0] is None:
            return None
        key = self.master.unwrap(owner_id, bytes(row[0]))
        with self._lock:
            self._cache[owner_id] = (time.monotonic() + CACHE_SECONDS, key)
        return key

    def shred(self, owner_id: UUID) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, shredded_at = %s WHERE owner_id = %s",
                (_now(), str(owner_id)),
            )
            if cur.rowcount == 0:
                # Never had a key: still fence the id so no key is ever made for it.
                cur.execute(
                    "INSERT INTO data_keys (owner_id, created_at, shredded_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (owner_id) DO NOTHING",
                    (str(owner_id), _now(), _now()),
                )
        with self._lock:
            self._cache.pop(owner_id, None)
        self.db.checkpoint()

    def shred_tenant(self, tenant_id: UUID) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, shredded_at = %s "
                "WHERE (tenant_id = %s OR owner_id = %s) AND wrapped_key IS NOT NULL",
                (_now(), str(tenant_id), str(tenant_id)),
            )
            count = cur.rowcount
        with self._lock:
            self._cache.clear()
        self.db.checkpoint()
        return count

    def rewrap_all(self, new_master: MasterKey) -> int:
        """Re-wrap every live key under a new master key, in one transaction."""
        with self.db.transaction() as cur:
            cur.execute("SELECT owner_id, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL")
            rows = cur.fetchall()
            for owner, wrapped in rows:
                owner_id = UUID(owner)
                key = self.master.unwrap(owner_id, bytes(wrapped))
                cur.execute(
                    "UPDATE data_keys SET wrapped_key = %s WHERE owner_id = %s",
                    (new_master.wrap(owner_id, key), owner),
                )
        self.master = new_master
        return len(rows)


def _now() -> str:
    return datetime.now(tz=timezone.utc).isoformat()
