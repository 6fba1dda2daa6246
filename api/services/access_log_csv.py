"""A tenant's access log as CSV (RFC 4180, UTF-8), for the customer's own records.

The HTTP API streams the whole (filtered) log as one file, read from the read side a page at
a time (`access_log_csv_chunks`), so a long log never sits in memory; the portal builds the
same columns in one go (`access_log_csv`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.read_models.queries.contract import ReadSide

from api.services.export_formats import csv_text

COLUMNS = ("at", "actor", "action", "resource", "request_id", "outcome")
# Every entry the read side gives has these: why it was refused, the legal basis and
# reference of a disclosure, what a purge did. `position` is the read side's paging key.
STREAMED_COLUMNS = (*COLUMNS, "detail")
INTERNAL = frozenset({"position"})
PAGE = 500


def access_log_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """Newest first, as given. Columns beyond the usual six (a later kind of row may carry
    more) follow them in the order first seen; text a spreadsheet would run as a formula
    is prefixed with an apostrophe."""
    rows = list(rows)
    columns = list(COLUMNS)
    for row in rows:
        columns += [key for key in row if key not in columns and key not in INTERNAL]
    return csv_text(columns, [tuple(_cell(row.get(c)) for c in columns) for row in rows])


def access_log_csv_chunks(
    read_side: ReadSide, tenant_id: UUID, **filters: Any
) -> Iterator[str]:
    """The whole filtered log as one CSV, in pieces: the header, then one piece per page."""
    yield csv_text(STREAMED_COLUMNS, [])
    after: str | None = None
    while True:
        page = read_side.access_log(tenant_id, after=after, limit=PAGE, **filters)
        rows = [tuple(_cell(row.get(c)) for c in STREAMED_COLUMNS) for row in page["items"]]
        if rows:
            yield csv_text(STREAMED_COLUMNS, rows, header=False)
        after = page["next"]
        if after is None:
            return


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, bool, datetime)):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def access_log_rows(
    read_side: ReadSide, tenant_id: UUID, **filters: Any
) -> Iterator[dict[str, Any]]:
    """Every row of the tenant's access log (with the read side's filters), page by page."""
    after: str | None = None
    while True:
        page = read_side.access_log(tenant_id, after=after, limit=PAGE, **filters)
        yield from page["items"]
        after = page["next"]
        if after is None:
            return
