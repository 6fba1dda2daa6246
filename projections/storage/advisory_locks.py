"""PostgreSQL advisory locks: every key the ledger's processes take, and the one way to take one.

A key is a contract between processes: during a rolling upgrade a process of the old version
and one of the new must exclude each other, so a key once used never changes. The ledger's:

- `DDL_LOCK`: transaction-scoped, around every change to the tables' shape (`executescript`,
  and a read model's upgrade, projections/read_models/versions.py), so that processes starting
  at the same moment take turns rather than race on the catalogue;
- `EVENT_STORE_SCHEMA_LOCK`: held while a process creates the event store's tables and
  function (api/bootstrap.py);
- named locks (`advisory_key`): `Database.exclusive(name)` (`EXCLUSIVE_PREFIX` + name), the
  sealer's and each projection runner group's leader lock (projections/storage/follower.py).

`holder` says which session holds one (`ledger projections status`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DDL_LOCK = 7462
EVENT_STORE_SCHEMA_LOCK = 7463
EXCLUSIVE_PREFIX = "compliance-ledger "  # what `Database.exclusive` puts before its names


def advisory_key(name: str) -> int:
    """The advisory lock key of `name`: the first 8 bytes of its SHA-256, a signed 64-bit
    integer. The lock is the database's own, so two ledgers on one server never meet."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def take(conn: Any, key: int, *, wait: bool = True, transaction: bool = False) -> bool:
    """Take the lock `key` on `conn` (a connection or a cursor): waiting until it is free, or
    (`wait` off) only if it is free now. Held until `release` or the session ends; with
    `transaction`, until the transaction ends instead. Returns whether it was taken."""
    function = "pg_advisory_xact_lock" if transaction else "pg_advisory_lock"
    if wait:
        conn.execute(f"SELECT {function}(%s)", (key,))
        return True
    try_function = function.replace("pg_", "pg_try_", 1)
    row = conn.execute(f"SELECT {try_function}(%s)", (key,)).fetchone()
    return bool(row and row[0])


def release(conn: Any, key: int) -> None:
    """Give back a session lock `take` took on `conn`."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))


@contextmanager
def held(conn: Any, key: int, *, wait: bool = True) -> Iterator[bool]:
    """The session lock `key` on `conn` for the block: yields whether it was taken (always,
    when `wait`), and gives it back after the block if it was."""
    got = take(conn, key, wait=wait)
    try:
        yield got
    finally:
        if got:
            release(conn, key)


def holder(db: Any, key: int) -> int | None:
    """The backend pid of the session holding the session lock `key` in `db`'s database, if
    any. Advisory locks are per database: another ledger on the same server holds its own."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF  # pg_locks shows the key as two unsigned halves
    row = db.fetchone(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = %s AND objid = %s AND objsubid = 1 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database())",
        (unsigned >> 32, unsigned & 0xFFFFFFFF),
    )
    return int(row[0]) if row else None
