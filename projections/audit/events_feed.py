"""The auditors' view of the event log: each stored event with its bytes, its leaf and its meaning.

Every item carries the stored state bytes (so an auditor can recompute the leaf with their own
code), the sealed leaf index and hash (null until the sealer has reached it), and the decoded
event with every personal field shown as "***". Personal fields are never decrypted here: the
event is decoded by the plain mapper, which leaves their ciphertext envelopes alone.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper

from domain.errors import InvalidInput
from domain.personal import personal_fields
from projections.storage.database import Database
from projections.merkle_log.store import create_tables, leaves_for_notifications
from projections.read_models.queries.paging import MAX_LIMIT, Page

MASK = "***"


def parse_cursor(after: str | None) -> int | None:
    """`after` is the `next` of the previous page: the last notification id it held."""
    if after is None or after == "":
        return None
    try:
        value = int(after)
    except ValueError:
        raise InvalidInput("after", "after must be the `next` cursor of a previous page") from None
    if not 0 <= value < 2**63:
        raise InvalidInput("after", "after must be the `next` cursor of a previous page")
    return value


def audit_events(ledger: Any, db: Database, after: str | None = None, limit: int = 100) -> Page:
    """Oldest first, `limit` (1..1000) at a time."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"limit must be between 1 and {MAX_LIMIT}")
    start = parse_cursor(after)
    create_tables(db)
    if start is None:
        batch = ledger.recorder.select_notifications(start=None, limit=limit)
    else:
        batch = ledger.recorder.select_notifications(start=start, limit=limit, inclusive_of_start=False)
    if not batch:
        return {"items": [], "next": None}
    sealed = leaves_for_notifications(db, int(batch[0].id), int(batch[-1].id))
    items = []
    for notification in batch:
        index, leaf = sealed.get(int(notification.id), (None, None))
        items.append({
            "id": int(notification.id),
            "index": index,
            "originator_id": str(notification.originator_id),
            "originator_version": int(notification.originator_version),
            "topic": notification.topic,
            "state": base64.b64encode(bytes(notification.state)).decode(),
            "leaf_hash": leaf.hex() if leaf is not None else None,
            "data": masked_event(ledger, notification),
        })
    return {"items": items, "next": str(batch[-1].id) if len(batch) == limit else None}


def masked_event(ledger: Any, notification: Any) -> dict[str, Any] | None:
    """The decoded event, personal fields masked; None when the bytes no longer decode (a
    tampered row must still be listable, so that the auditor can see it)."""
    try:
        event = Mapper.to_domain_event(ledger.mapper, notification)
    except Exception:
        return None
    personal = set(personal_fields(event))
    data: dict[str, Any] = {"type": type(event).__qualname__}
    for name, value in vars(event).items():
        data[name] = MASK if name in personal and value is not None else plain(value)
    return data


def plain(value: Any) -> Any:
    """JSON-ready: ids and enums as their text, times as ISO 8601."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)
