"""Moments stored as text that sorts as time does: fixed-width UTC, to the microsecond.

The idempotency keys' `created_at` and the delivered files' `kept_until` are compared in SQL
(`created_at < %s`) on SQLite and PostgreSQL alike: a fixed width makes text order time order,
whatever the collation, and UTC makes it so whatever the server's time zone.
"""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def sortable_stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def from_sortable_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, _FORMAT).replace(tzinfo=timezone.utc)
