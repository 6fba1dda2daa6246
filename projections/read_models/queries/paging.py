"""Keyset paging: opaque cursors that carry the sort key of the last item shown.

A page is "the rows after this key", never OFFSET: the cost of page 400 is that of page 1, and
rows added meanwhile neither repeat nor vanish from the pages that follow.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from domain.errors import InvalidInput

MAX_LIMIT = 1000


def encode_cursor(*key: int | str) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(after: str | None, *kinds: type) -> tuple[Any, ...] | None:
    """The sort key inside `after`, checked against the expected kinds (422 on anything else)."""
    if after is None or after == "":
        return None
    try:
        padded = after + "=" * (-len(after) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("after", "after is not a cursor this list gave out") from None
    if (
        not isinstance(key, list) or len(key) != len(kinds)
        or not all(type(part) is kind for part, kind in zip(key, kinds))
        # every number a list gives out fits a BIGINT and is not negative
        or any(type(part) is int and not 0 <= part < 2**63 for part in key)
    ):
        raise InvalidInput("after", "after is not a cursor this list gave out")
    return tuple(key)


def check_limit(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return limit
