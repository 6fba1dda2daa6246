"""The data-key table: wrapped keys per subject and tenant, kept apart from the events.

A shredded key's row stays, with no key material, as the fence that stops the key from
ever being created again.

The master key can be rotated (`rotate_master`): every live data key is re-wrapped under the
new key in one transaction, and no event changes. Two secrets are derived from a *derivation
root* rather than from the master key itself: the email-lookup HMAC key and the unsubscribe
links' key. The root is kept here, wrapped by the master key like a data key, so it survives
a rotation: email hashes stay valid and links already mailed keep working. A store that had
no root yet gets the master key of that moment as its root, which is exactly what those keys
were derived from before roots existed.

The wrapped root also tells whether a process holds the current master key. A process still
running with the old key after a rotation refuses to create data keys (which nobody could
open any more) and to unwrap keys, with `MasterKeyMismatch` naming the fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from uuid import UUID

from cryptography.exceptions import InvalidTag

from domain.keys import KeyShredded, MasterKey, new_data_key
from projections.database import Cursor, Database

ROOT_NAME = "derivation_root"
# The associated data the root is wrapped with: no data key's owner has the nil UUID.
_ROOT_OWNER = UUID(int=0)
_REWRAP_PROGRESS_EVERY = 500


class MasterKeyMismatch(RuntimeError):
    """The configured master key does not open this store's keys."""

    def __init__(self) -> None:
        super().__init__(
            "the configured master key does not open this store's keys: the master key was "
            "rotated (`ledger keys rotate-master`) and this process still holds the old one. "
            "Give it the new key (LEDGER_MASTER_KEY or the data dir's master.key) and restart it"
        )

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
        self._root: bytes | None = None
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
            CREATE TABLE IF NOT EXISTS key_roots (
                name TEXT PRIMARY KEY,
                wrapped_key {db.blob} NOT NULL,
                created_at TEXT NOT NULL
            );
            """
        )

    def derivation_root(self, first_master_key: bytes) -> bytes:
        """The secret the email-lookup and unsubscribe-link keys are derived from (with HKDF,
        each for its own purpose). `first_master_key` (the configured master key's bytes)
        becomes the root when the store has none yet. Raises MasterKeyMismatch when the
        configured master key does not open the stored root."""
        if self._root is None:
            with self.db.transaction() as cur:
                cur.execute(
                    "INSERT INTO key_roots (name, wrapped_key, created_at) VALUES (%s, %s, %s) "
                    "ON CONFLICT (name) DO NOTHING",
                    (ROOT_NAME, self.master.wrap(_ROOT_OWNER, first_master_key), _now()),
                )
                cur.execute("SELECT wrapped_key FROM key_roots WHERE name = %s", (ROOT_NAME,))
                row = cur.fetchone()
            self._root = self._open_root(self.master, bytes(row[0]))
        return self._root

    def opens_store(self, master: MasterKey) -> bool:
        """Whether `master` opens this store's keys (True for a store without a root yet)."""
        row = self.db.fetchone("SELECT wrapped_key FROM key_roots WHERE name = %s", (ROOT_NAME,))
        if row is None:
            return True
        try:
            self._open_root(master, bytes(row[0]))
        except MasterKeyMismatch:
            return False
        return True

    @staticmethod
    def _open_root(master: MasterKey, wrapped: bytes) -> bytes:
        try:
            return master.unwrap(_ROOT_OWNER, wrapped)
        except InvalidTag:
            raise MasterKeyMismatch() from None

    def _check_master(self, cur: Cursor, lock: str) -> None:
        """Refuses inside a write transaction when the stored root does not open with this
        process's master key (a rotation happened since it started)."""
        suffix = f" {lock}" if self.db.dialect == "postgresql" else ""
        cur.execute(f"SELECT wrapped_key FROM key_roots WHERE name = %s{suffix}", (ROOT_NAME,))
        row = cur.fetchone()
        if row is not None:
            self._open_root(self.master, bytes(row[0]))

    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        wrapped = self.master.wrap(owner_id, new_data_key())
        with self.db.transaction() as cur:
            # FOR SHARE: a rotation (FOR UPDATE) waits for this key, or this waits for it and
            # then sees that its master key is no longer the store's.
            self._check_master(cur, "FOR SHARE")
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
        try:
            key = self.master.unwrap(owner_id, bytes(row[0]))
        except InvalidTag:
            if not self.opens_store(self.master):
                raise MasterKeyMismatch() from None
            raise
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

    def rotate_master(
        self, current_key: bytes, new_key: bytes,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Re-wrap every live data key and the derivation root under `new_key`, in one
        transaction: all or nothing. Shredded keys stay shredded; no event is read or written.
        `current_key` must be this store's master key (the root is created from it first if
        the store has none, so derived keys do not change). `progress(done, total)` is called
        as keys are re-wrapped. Returns how many data keys were re-wrapped."""
        current, new = MasterKey(current_key), MasterKey(new_key)
        if not self.opens_store(current):
            raise MasterKeyMismatch()
        self.master = current
        self.derivation_root(current_key)
        with self.db.transaction() as cur:
            # FOR UPDATE: key creations in other processes wait, then refuse (old master key).
            self._check_master(cur, "FOR UPDATE")
            cur.execute("SELECT wrapped_key FROM key_roots WHERE name = %s", (ROOT_NAME,))
            root = self._open_root(current, bytes(cur.fetchone()[0]))
            cur.execute(
                "SELECT owner_id, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL "
                "ORDER BY owner_id"
            )
            rows = cur.fetchall()
            for done, (owner, wrapped) in enumerate(rows, start=1):
                owner_id = UUID(owner)
                key = current.unwrap(owner_id, bytes(wrapped))
                cur.execute(
                    "UPDATE data_keys SET wrapped_key = %s WHERE owner_id = %s",
                    (new.wrap(owner_id, key), owner),
                )
                if progress is not None and (
                    done % _REWRAP_PROGRESS_EVERY == 0 or done == len(rows)
                ):
                    progress(done, len(rows))
            cur.execute(
                "UPDATE key_roots SET wrapped_key = %s WHERE name = %s",
                (new.wrap(_ROOT_OWNER, root), ROOT_NAME),
            )
        self.master = new
        with self._lock:
            self._cache.clear()
        self.db.checkpoint()  # the old wrappings do not linger in SQLite's write-ahead log
        return len(rows)


def _now() -> str:
    return datetime.now(tz=timezone.utc).isoformat()
