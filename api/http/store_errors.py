"""Which failures of the store are not the request's fault nor a bug: the database not answering
(503 with `Retry-After`: retry), or a write refused because this process is read-only (503:
ask a writing process). api/http/problems.py turns them into answers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from domain.errors import ReadOnlyLedger
from projections.storage.follower import database_unreachable
from projections.storage.postgres import refused_as_read_only

# A server not answering is what every follower of the log counts as one (`database_unreachable`,
# projections/storage/follower.py). SQLite's OperationalError also means "no such table" (a bug),
# so of SQLite's only its busy answers count.
_SQLITE_BUSY = ("database is locked", "database is busy")


def database_unavailable(error: BaseException) -> bool:
    """True when `error`, or anything it was raised from, says the database is not answering
    right now (rather than that the request or the code is wrong)."""
    for current in _causes(error):
        if database_unreachable(current):
            return True
        if isinstance(current, sqlite3.OperationalError) and any(
            busy in str(current) for busy in _SQLITE_BUSY
        ):
            return True
    return False


def written_in_a_read_only_process(error: BaseException) -> bool:
    """True when the store refused a write because this process (or its store, a standby)
    is read-only: a write, or a read the ledger records, asked of a read-only process."""
    return any(
        isinstance(current, ReadOnlyLedger) or refused_as_read_only(current)
        for current in _causes(error)
    )


READ_ONLY_DETAIL = (
    "this process serves reads only (LEDGER_READ_ONLY); writes, and reads that the ledger "
    "records (personal data, exports), go to a writing process"
)


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and everything it was raised from or while, groups opened, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
