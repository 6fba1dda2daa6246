"""What a delivery and an attempt are, as the outbox's readers see them, and how a row of
`outbox_deliveries` becomes one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.read_models.tables import moment

# Tried until delivered, expired (the schedule ran out), disabled (its subscription was
# deleted, disabled or answered 410) or rejected (a mail server refused the address for good).
PENDING, DELIVERED, EXPIRED, DISABLED, REJECTED = (
    "pending", "delivered", "expired", "disabled", "rejected"
)
COLUMNS = (
    "id, channel, subscription_id, recipient, language, type, tenant_id, about_id, payload, "
    "status, attempts, next_attempt_at, created_at, last_attempt_at, delivered_at, "
    "last_status, last_error, message_id"
)


class NotRedeliverable(Exception):
    """A delivery still being tried is not sent again on request."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the delivery is {status}: it is still being tried")
        self.status = status


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True)
class Delivery:
    id: str  # the webhook-id; the same on every retry and redelivery
    channel: str  # "webhook" | "email"
    subscription_id: UUID | None
    recipient: str | None
    language: str | None
    type: str
    tenant_id: UUID | None
    about_id: str | None
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    message_id: str | None


def delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        id=row[0], channel=row[1], subscription_id=UUID(row[2]) if row[2] else None,
        recipient=row[3], language=row[4], type=row[5],
        tenant_id=UUID(row[6]) if row[6] else None, about_id=row[7],
        payload=json.loads(row[8]), status=row[9], attempts=int(row[10]),
        next_attempt_at=moment(row[11]), created_at=moment(row[12]),
        last_attempt_at=moment(row[13]), delivered_at=moment(row[14]), last_status=row[15],
        last_error=row[16], message_id=row[17],
    )
