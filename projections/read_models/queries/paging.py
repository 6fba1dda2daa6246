"""Keyset paging, the one definition for every list the read side gives: what a list answers
(`Page`), how long a page may be (`MAX_LIMIT`, `DEFAULT_LIMIT`), the opaque cursors that carry
the sort key of the last item shown, and the query that reads a page (`keyset_page`).

A page is "the rows after this key", never OFFSET: the cost of page 400 is that of page 1, and
rows added meanwhile neither repeat nor vanish from the pages that follow. The HTTP layer
(api/http/paging.py) takes its limits from here and shows a `Page` as its response schema.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypedDict

from domain.errors import InvalidInput
from projections.storage.database import Database

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


class Page(TypedDict):
    items: list[dict[str, Any]]
    next: str | None  # the cursor of the page after this one; None on the last


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


def keyset_page(
    db: Database, columns: str, table: str, where: Sequence[str], params: Sequence[Any],
    after: str | None, limit: int,
    *, order: tuple[str, ...], descending: bool, item: Callable[[tuple[Any, ...]], dict[str, Any]],
) -> Page:
    """One page of `SELECT columns FROM table WHERE where`, sorted by the integer columns of
    `order`, after the key in the cursor `after`; `item` turns a row into what the list shows."""
    limit = check_limit(limit)
    key = decode_cursor(after, *([int] * len(order)))
    where = list(where)
    params = list(params)
    if key is not None:
        marks = ", ".join(["%s"] * len(order))
        where.append(f"({', '.join(order)}) {'<' if descending else '>'} ({marks})")
        params += list(key)
    direction = " DESC" if descending else ""
    # The sort key rides at the end of each row, so the cursor can be read off the last one.
    sql = f"SELECT {columns}, {', '.join(order)} FROM {table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join(f"{column}{direction}" for column in order)
    sql += " LIMIT %s"
    rows = db.fetchall(sql, [*params, limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        next_cursor = encode_cursor(*(int(v) for v in rows[-1][-len(order):]))
    return {"items": [item(row[:-len(order)]) for row in rows], "next": next_cursor}
