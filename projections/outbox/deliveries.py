"""Deliveries: each notice fanned out to the receivers that must hear it, handed to the
dispatcher when due, and every attempt recorded.

Fanning out is one transaction per batch of notices: the deliveries are inserted and the
notices marked, together. A delivery's id is derived from its notice and receiver, so fanning
the same notice out twice (two processes, or a crash between) makes no second delivery; it is
the `webhook-id` a receiver sees on every retry and redelivery. Due deliveries are leased, not
locked: a dispatcher that dies mid-send leaves a lease that runs out, and the delivery is sent
again (at least once, under the same id; receivers deduplicate on it).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from projections.outbox.delivery_rows import (
    COLUMNS, DELIVERED, DISABLED, EXPIRED, PENDING, REJECTED, Attempt, Delivery, NotRedeliverable,
    delivery,
)
from projections.outbox.tables import OUTBOX_ATTEMPTS, OUTBOX_DELIVERIES, OUTBOX_NOTICES, OUTBOX_TABLES
from projections.read_models.tables import micros, moment
from projections.storage.database import Database
from projections.storage.tables import ensure_tables_once

__all__ = [
    "Addressee", "Attempt", "Delivery", "DeliveryStore", "Notice", "NotRedeliverable",
    "DELIVERED", "DISABLED", "EXPIRED", "PENDING", "REJECTED",
]


@dataclass(frozen=True)
class Notice:
    id: str
    position: int
    type: str
    tenant_id: UUID | None
    subject_id: UUID | None
    requester: str | None
    about_id: str
    occurred_at: datetime
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Addressee:
    """One receiver of a notice: a webhook subscription, or an e-mail address."""

    channel: str  # "webhook" | "email"
    subscription_id: UUID | None = None
    recipient: str | None = None
    language: str | None = None

    @property
    def key(self) -> str:
        return str(self.subscription_id) if self.channel == "webhook" else f"mailto:{self.recipient}"


def delivery_id(notice_id: str, addressee: Addressee) -> str:
    digest = hashlib.sha256(f"{notice_id}/{addressee.key}".encode()).digest()
    return "msg_" + base64.b32encode(digest[:20]).decode().lower().rstrip("=")


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _tables(self) -> None:
        ensure_tables_once(self.db, OUTBOX_TABLES)

    # Fanning out
    def waiting_notices(self, limit: int = 200) -> list[Notice]:
        self._tables()
        rows = self.db.fetchall(
            "SELECT id, position, type, tenant_id, subject_id, requester, about_id, occurred_at, "
            f"data FROM {OUTBOX_NOTICES.name} WHERE fanned = 0 ORDER BY position, id LIMIT %s",
            (limit,),
        )
        return [Notice(
            id=r[0], position=int(r[1]), type=r[2], tenant_id=UUID(r[3]) if r[3] else None,
            subject_id=UUID(r[4]) if r[4] else None, requester=r[5], about_id=r[6],
            occurred_at=moment(r[7]), data=json.loads(r[8]),
        ) for r in rows]

    def add_notice(self, notice: Notice) -> bool:
        """A notice that no event carries (a deadline the sweep saw coming); False when it is
        there already, so the sweep may add it at every run."""
        self._tables()
        return self.db.execute(
            f"INSERT INTO {OUTBOX_NOTICES.name} (id, position, type, tenant_id, subject_id, "
            "requester, about_id, occurred_at, data, fanned) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0) ON CONFLICT (id) DO NOTHING",
            (notice.id, notice.position, notice.type, _text(notice.tenant_id),
             _text(notice.subject_id), notice.requester, notice.about_id,
             micros(notice.occurred_at), json.dumps(notice.data, sort_keys=True)),
        ) > 0

    def fan_out(
        self, fanned: Iterable[tuple[Notice, list[Addressee]]],
        payload: Callable[[Notice, Addressee, str], dict[str, Any]], now: datetime,
    ) -> int:
        """Inserts each notice's deliveries, due at once, and marks the notices fanned: all in
        one transaction. Returns how many deliveries were made."""
        made = 0
        with self.db.transaction() as cur:
            for notice, addressees in fanned:
                for addressee in addressees:
                    new_id = delivery_id(notice.id, addressee)
                    cur.execute(
                        f"INSERT INTO {OUTBOX_DELIVERIES.name} (id, notice_id, channel, "
                        "subscription_id, recipient, language, type, tenant_id, about_id, "
                        "payload, status, attempts, next_attempt_at, created_at) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, %s) "
                        "ON CONFLICT (id) DO NOTHING",
                        (new_id, notice.id, addressee.channel, _text(addressee.subscription_id),
                         addressee.recipient, addressee.language, notice.type,
                         _text(notice.tenant_id), notice.about_id,
                         json.dumps(payload(notice, addressee, new_id), sort_keys=True), PENDING,
                         micros(now), micros(now)),
                    )
                    made += max(cur.rowcount, 0)
                cur.execute(
                    f"UPDATE {OUTBOX_NOTICES.name} SET fanned = 1 WHERE id = %s", (notice.id,)
                )
        return made

    def forget_fanned_notices(self, before: datetime) -> int:
        """Fanned notices are only a step on the way: their deliveries hold what was sent."""
        self._tables()
        return self.db.execute(
            f"DELETE FROM {OUTBOX_NOTICES.name} WHERE fanned = 1 AND occurred_at < %s",
            (micros(before),),
        )

    # Sending
    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        """Up to `limit` deliveries due by `now`, leased to the caller until `now + lease`."""
        self._tables()
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        with self.db.transaction() as cur:
            cur.execute(
                f"UPDATE {OUTBOX_DELIVERIES.name} SET lease_until = %s WHERE id IN ("
                f"SELECT id FROM {OUTBOX_DELIVERIES.name} WHERE status = %s "
                "AND next_attempt_at <= %s AND (lease_until IS NULL OR lease_until < %s) "
                f"ORDER BY next_attempt_at, id LIMIT %s{skip_locked}) RETURNING {COLUMNS}",
                (micros(now + lease), PENDING, micros(now), micros(now), limit),
            )
            rows = cur.fetchall()
        return sorted((delivery(row) for row in rows), key=lambda d: (d.next_attempt_at, d.id))

    def record_attempt(
        self, item: Delivery, *, at: datetime, status: int | None, latency_ms: int,
        error: str | None, outcome: str, next_attempt_at: datetime | None = None,
        message_id: str | None = None,
    ) -> None:
        """One attempt and where it leaves the delivery (`outcome`: PENDING with
        `next_attempt_at`, DELIVERED, EXPIRED, DISABLED or REJECTED), in one transaction."""
        number = item.attempts + 1
        with self.db.transaction() as cur:
            cur.execute(
                f"INSERT INTO {OUTBOX_ATTEMPTS.name} (delivery_id, attempt, at, status, "
                "latency_ms, error) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (delivery_id, attempt) DO NOTHING",
                (item.id, number, micros(at), status, latency_ms, error),
            )
            cur.execute(
                f"UPDATE {OUTBOX_DELIVERIES.name} SET status = %s, attempts = %s, "
                "next_attempt_at = %s, lease_until = NULL, last_attempt_at = %s, "
                "last_status = %s, last_error = %s, delivered_at = %s, "
                "message_id = COALESCE(%s, message_id) WHERE id = %s",
                (outcome, number, micros(next_attempt_at), micros(at), status, error,
                 micros(at) if outcome == DELIVERED else None, message_id, item.id),
            )

    def set_aside(self, item: Delivery, status: str, reason: str) -> None:
        """Stops a delivery without an attempt: its subscription is gone or disabled."""
        self.db.execute(
            f"UPDATE {OUTBOX_DELIVERIES.name} SET status = %s, last_error = %s, "
            "lease_until = NULL, next_attempt_at = NULL WHERE id = %s", (status, reason, item.id),
        )

    # Reading and redelivering
    def get(self, delivery_id: str) -> Delivery | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT {COLUMNS} FROM {OUTBOX_DELIVERIES.name} WHERE id = %s", (delivery_id,)
        )
        return delivery(row) if row else None

    def attempts(self, delivery_id: str) -> list[Attempt]:
        self._tables()
        rows = self.db.fetchall(
            f"SELECT attempt, at, status, latency_ms, error FROM {OUTBOX_ATTEMPTS.name} "
            "WHERE delivery_id = %s ORDER BY attempt", (delivery_id,),
        )
        return [Attempt(int(r[0]), moment(r[1]), r[2], int(r[3]), r[4]) for r in rows]

    def for_subscription(self, sub_id: UUID, limit: int = 50) -> list[Delivery]:
        return self._recent("subscription_id = %s", (str(sub_id),), limit)

    def for_tenant(self, tenant_id: UUID, limit: int = 50) -> list[Delivery]:
        return self._recent("tenant_id = %s", (str(tenant_id),), limit)

    def _recent(self, where: str, params: tuple[Any, ...], limit: int) -> list[Delivery]:
        self._tables()
        rows = self.db.fetchall(
            f"SELECT {COLUMNS} FROM {OUTBOX_DELIVERIES.name} WHERE {where} "
            "ORDER BY created_at DESC, id DESC LIMIT %s", (*params, limit),
        )
        return [delivery(row) for row in rows]

    def redeliver(self, delivery_id: str, now: datetime) -> Delivery:
        """Sends a delivery again, under the same id, as soon as the dispatcher looks."""
        found = self.get(delivery_id)
        if found is None:
            raise KeyError(delivery_id)
        if found.status == PENDING:
            raise NotRedeliverable(found.status)
        self.db.execute(
            f"UPDATE {OUTBOX_DELIVERIES.name} SET status = %s, next_attempt_at = %s, "
            "lease_until = NULL WHERE id = %s AND status <> %s",
            (PENDING, micros(now), delivery_id, PENDING),
        )
        again = self.get(delivery_id)
        assert again is not None
        return again


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)
