"""Webhook subscriptions: a tenant's (made by its customer), the vendor's (made by an officer)
and each registered system's. A subscription hears only what is recorded after it was made
(`since_position`), so making one never replays the past to a new receiver.

The signing secret (`whsec_` and 24 random bytes, as Standard Webhooks has it) is shown once,
when the subscription is made or its secret rotated, and kept sealed (AES-GCM under a key derived
from the key store's derivation root, bound to the subscription's id): a copy of the database
alone does not let anyone sign as the ledger.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from projections.outbox.tables import OUTBOX_TABLES, WEBHOOK_SUBSCRIPTIONS
from projections.read_models.tables import micros
from projections.storage.database import Database
from projections.storage.tables import ensure_tables_once

ACTIVE, DISABLED = "active", "disabled"
_COLUMNS = (
    "id, tenant_id, system_id, url, types, description, status, disabled_reason, "
    "since_position, created_at, created_by"
)


@dataclass(frozen=True)
class Subscription:
    id: UUID
    tenant_id: UUID | None  # None: the vendor's (or a system's)
    system_id: UUID | None
    url: str
    types: tuple[str, ...]
    description: str | None
    status: str
    disabled_reason: str | None
    since_position: int
    created_at: int  # microseconds
    created_by: str

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def sealing_key(derivation_root: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None,
        info=b"compliance-ledger/webhook-secrets/v1",
    ).derive(derivation_root)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class SubscriptionStore:
    def __init__(self, db: Database, key: bytes) -> None:
        self.db = db
        self._aead = AESGCM(key)

    def _tables(self) -> None:
        ensure_tables_once(self.db, OUTBOX_TABLES)

    def create(
        self, *, url: str, types: list[str], actor: str, now: datetime, head: int,
        tenant_id: UUID | None = None, system_id: UUID | None = None,
        description: str | None = None,
    ) -> tuple[Subscription, str]:
        """The new subscription and its secret (shown to its maker once). `head`: the log's
        last position now; the subscription hears what comes after it."""
        self._tables()
        sub_id, secret = uuid4(), new_secret()
        self.db.execute(
            f"INSERT INTO {WEBHOOK_SUBSCRIPTIONS.name} ({_COLUMNS}, secret) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, %s)",
            (str(sub_id), _text(tenant_id), _text(system_id), url, " ".join(types),
             description, ACTIVE, head, micros(now), actor, self._seal(sub_id, secret)),
        )
        made = self.get(sub_id)
        assert made is not None
        return made, secret

    def get(self, sub_id: UUID) -> Subscription | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM {WEBHOOK_SUBSCRIPTIONS.name} WHERE id = %s", (str(sub_id),)
        )
        return _subscription(row) if row else None

    def of_tenant(self, tenant_id: UUID | None) -> list[Subscription]:
        """A tenant's subscriptions, or (None) the vendor's own, systems' left out."""
        self._tables()
        where = "tenant_id = %s" if tenant_id is not None else "tenant_id IS NULL"
        params = (str(tenant_id),) if tenant_id is not None else ()
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM {WEBHOOK_SUBSCRIPTIONS.name} "
            f"WHERE {where} AND system_id IS NULL ORDER BY created_at, id", params,
        )
        return [_subscription(row) for row in rows]

    def active(self) -> list[Subscription]:
        self._tables()
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM {WEBHOOK_SUBSCRIPTIONS.name} WHERE status = %s", (ACTIVE,)
        )
        return [_subscription(row) for row in rows]

    def secret(self, sub_id: UUID) -> str:
        row = self.db.fetchone(
            f"SELECT secret FROM {WEBHOOK_SUBSCRIPTIONS.name} WHERE id = %s", (str(sub_id),)
        )
        if row is None:
            raise KeyError(str(sub_id))
        raw = base64.b64decode(row[0])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], str(sub_id).encode()).decode()
        except InvalidTag:
            raise ValueError(f"the secret of subscription {sub_id} is not genuine") from None

    def rotate_secret(self, sub_id: UUID) -> str:
        secret = new_secret()
        self.db.execute(
            f"UPDATE {WEBHOOK_SUBSCRIPTIONS.name} SET secret = %s WHERE id = %s",
            (self._seal(sub_id, secret), str(sub_id)),
        )
        return secret

    def disable(self, sub_id: UUID, reason: str) -> None:
        self.db.execute(
            f"UPDATE {WEBHOOK_SUBSCRIPTIONS.name} SET status = %s, disabled_reason = %s "
            "WHERE id = %s", (DISABLED, reason, str(sub_id)),
        )

    def enable(self, sub_id: UUID) -> None:
        self.db.execute(
            f"UPDATE {WEBHOOK_SUBSCRIPTIONS.name} SET status = %s, disabled_reason = NULL "
            "WHERE id = %s", (ACTIVE, str(sub_id)),
        )

    def update(self, sub_id: UUID, *, url: str, types: list[str], description: str | None) -> None:
        self.db.execute(
            f"UPDATE {WEBHOOK_SUBSCRIPTIONS.name} SET url = %s, types = %s, description = %s "
            "WHERE id = %s", (url, " ".join(types), description, str(sub_id)),
        )

    def delete(self, sub_id: UUID) -> None:
        self.db.execute(f"DELETE FROM {WEBHOOK_SUBSCRIPTIONS.name} WHERE id = %s", (str(sub_id),))

    def _seal(self, sub_id: UUID, secret: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), str(sub_id).encode())
        return base64.b64encode(nonce + sealed).decode()


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _subscription(row: tuple) -> Subscription:
    return Subscription(
        id=UUID(row[0]), tenant_id=UUID(row[1]) if row[1] else None,
        system_id=UUID(row[2]) if row[2] else None, url=row[3], types=tuple(row[4].split()),
        description=row[5], status=row[6], disabled_reason=row[7], since_position=int(row[8]),
        created_at=int(row[9]), created_by=row[10],
    )
