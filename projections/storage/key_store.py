"""The data-key table: wrapped keys per subject and tenant, kept apart from the events.

Each data key is wrapped by the key-encryption key (KEK) of an epoch (`epoch`), and
`first_epoch` is the epoch it was made in: the KEKs of those epochs and every one between
are all that could ever unwrap a copy of it. A shredded key's row stays, with no key
material, as the fence that stops the key from ever being created again; `final_at` is set
once all of those KEKs are destroyed (projections.storage.key_epochs).

Two secrets are derived from a *derivation root* rather than kept: the email-lookup HMAC
key and the unsubscribe links' key. The root is kept here, wrapped by a KEK like a data key,
and re-wrapped at every epoch close, so email hashes and links already mailed stay valid.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime
from uuid import UUID

from domain.clock import Clock, SystemClock
from domain.ledger.keys import (
    KeyEncryptionKey,
    KeyEncryptionKeyMissing,
    KeyEncryptionKeys,
    KeyShredded,
    new_data_key,
)
from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables

ROOT_NAME = "derivation_root"
# The associated data the root is wrapped with: no data key's owner has the nil UUID.
ROOT_OWNER = UUID(int=0)

# Unwrapped keys are cached briefly. Another process that shreds a key cannot reach this
# cache, so the time-to-live bounds how long a second process may still read an erased
# person's fields (documented in docs/domain.md, "Cache TTL and several processes").
CACHE_SECONDS = 5.0

# `epoch`, `first_epoch`, `final_at` and the root's `epoch` came with key epochs: a store made
# before gets them at its next start, and its rows are moved to epochs by KeyEpochs.start.
DATA_KEYS = Table(
    "data_keys",
    "owner_id TEXT, tenant_id TEXT, wrapped_key {blob}, created_at TEXT NOT NULL, "
    "shredded_at TEXT, epoch INTEGER, first_epoch INTEGER, final_at TEXT",
    key=("owner_id",),
    indexes=(
        "data_keys_by_tenant ON data_keys (tenant_id)",
        "data_keys_awaiting_final ON data_keys (shredded_at) "
        "WHERE final_at IS NULL AND shredded_at IS NOT NULL",
        "data_keys_by_epoch ON data_keys (epoch, owner_id) WHERE wrapped_key IS NOT NULL",
    ),
    added=("epoch", "first_epoch", "final_at"),
)
KEY_ROOTS = Table(
    "key_roots",
    "name TEXT, wrapped_key {blob} NOT NULL, created_at TEXT NOT NULL, epoch INTEGER",
    key=("name",),
    added=("epoch",),
)
KEY_EPOCHS = Table(
    "key_epochs",
    "epoch INTEGER, opened_at TEXT NOT NULL, closed_at TEXT, destroyed_at TEXT",
    key=("epoch",),
)
KEY_TABLES = (DATA_KEYS, KEY_ROOTS, KEY_EPOCHS)


class NoKeyEpoch(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the key store has no key epoch yet: open it with api.bootstrap.open_stores"
        )


class SqlKeyStore:
    def __init__(self, db: Database, keks: KeyEncryptionKeys, clock: Clock | None = None) -> None:
        self.db = db
        self.keks = keks
        self.clock = clock or SystemClock()
        self._cache: dict[UUID, tuple[float, bytes]] = {}
        self._lock = threading.Lock()
        self._root: bytes | None = None
        ensure_tables(db, KEY_TABLES)

    def now(self) -> str:
        return stamp(self.clock.now())

    def kek(self, epoch: int) -> KeyEncryptionKey:
        kek = self.keks.get(epoch)
        if kek is None:
            raise KeyEncryptionKeyMissing(epoch, str(self.keks))
        return kek

    def current_epoch(self) -> int:
        row = self.db.fetchone("SELECT MAX(epoch) FROM key_epochs")
        if row is None or row[0] is None:
            raise NoKeyEpoch()
        return int(row[0])

    def derivation_root(self) -> bytes:
        """The secret the email-lookup, unsubscribe-link and request-fingerprint keys are
        derived from (with HKDF, each for its own purpose)."""
        if self._root is None:
            row = self.db.fetchone(
                "SELECT wrapped_key, epoch FROM key_roots WHERE name = %s", (ROOT_NAME,)
            )
            if row is None:
                raise NoKeyEpoch()
            self._root = self._unwrap_fresh(
                ROOT_OWNER, bytes(row[0]), int(row[1]),
                "SELECT wrapped_key, epoch FROM key_roots WHERE name = %s", ROOT_NAME,
            )
        return self._root

    def make_root(self, epoch: int, root: bytes | None = None) -> None:
        """A new store's root (random), or a migrated store's (its master key's bytes, which
        is what the derived keys were made from before roots existed)."""
        wrapped = self.kek(epoch).wrap(ROOT_OWNER, root or secrets.token_bytes(32))
        self.db.execute(
            "INSERT INTO key_roots (name, wrapped_key, created_at, epoch) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (ROOT_NAME, wrapped, self.now(), epoch),
        )

    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        # Wrapped outside the transaction; should an epoch close meanwhile, the row is in the
        # epoch before, and the close re-wraps it before that epoch's KEK is destroyed.
        epoch = self.current_epoch()
        wrapped = self.kek(epoch).wrap(owner_id, new_data_key())
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO data_keys (owner_id, tenant_id, wrapped_key, created_at, epoch, "
                "first_epoch) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (owner_id) DO NOTHING",
                (str(owner_id), str(tenant_id) if tenant_id else None, wrapped, self.now(),
                 epoch, epoch),
            )
            cur.execute("SELECT wrapped_key FROM data_keys WHERE owner_id = %s", (str(owner_id),))
            row = cur.fetchone()
        if row[0] is None:
            raise KeyShredded()

    def get(self, owner_id: UUID) -> bytes | None:
        hit = self._cache.get(owner_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        query = "SELECT wrapped_key, epoch FROM data_keys WHERE owner_id = %s"
        row = self.db.fetchone(query, (str(owner_id),))
        if row is None or row[0] is None:
            return None
        key = self._unwrap_fresh(owner_id, bytes(row[0]), int(row[1]), query, str(owner_id))
        if key is None:
            return None
        with self._lock:
            self._cache[owner_id] = (time.monotonic() + CACHE_SECONDS, key)
        return key

    def _unwrap_fresh(
        self, owner_id: UUID, wrapped: bytes, epoch: int, query: str, param: str
    ) -> bytes | None:
        """Unwraps with the epoch's KEK; when that KEK was destroyed between reading the row
        and reading the KEK, the row was re-wrapped meanwhile: read it once more."""
        kek = self.keks.get(epoch)
        if kek is None:
            row = self.db.fetchone(query, (param,))
            if row is None or row[0] is None:
                return None
            wrapped, kek = bytes(row[0]), self.kek(int(row[1]))
        return kek.unwrap(owner_id, wrapped)

    def shred(self, owner_id: UUID) -> None:
        now = self.now()
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, shredded_at = %s WHERE owner_id = %s",
                (now, str(owner_id)),
            )
            if cur.rowcount == 0:
                # Never had a key: still fence the id so no key is ever made for it. Nothing
                # was ever wrapped, so there is nothing to wait for: final at once.
                cur.execute(
                    "INSERT INTO data_keys (owner_id, created_at, shredded_at, final_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (owner_id) DO NOTHING",
                    (str(owner_id), now, now, now),
                )
        with self._lock:
            self._cache.pop(owner_id, None)
        self.db.checkpoint()

    def shred_tenant(self, tenant_id: UUID) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE data_keys SET wrapped_key = NULL, shredded_at = %s "
                "WHERE (tenant_id = %s OR owner_id = %s) AND wrapped_key IS NOT NULL",
                (self.now(), str(tenant_id), str(tenant_id)),
            )
            count = cur.rowcount
        with self._lock:
            self._cache.clear()
        self.db.checkpoint()
        return count

    def forget_cached(self) -> None:
        with self._lock:
            self._cache.clear()


def stamp(moment: datetime) -> str:
    return moment.isoformat()
