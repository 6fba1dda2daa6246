"""What every database backend offers the ledger's own tables, and which backend a URL names.

The ledger's own tables (read models, the Merkle log, keys, idempotency keys, portal sessions,
delivered files) live beside the eventsourcing library's events, in SQLite or PostgreSQL. SQL
is written once, in the dialect both understand, with `%s` placeholders (the SQLite backend
swaps them for `?`). Writes go through `transaction()`, so a read-model update and its
tracking position commit together or not at all.

As in the eventsourcing library (one abstract recorder, one module per backend), `Database`
is the interface and each backend is a module of its own: `projections.storage.sqlite` and
`projections.storage.postgres`. Each also says how the library's own event store is set up on
it. `open_database` and `event_store_env` pick the backend from LEDGER_DATABASE_URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Protocol

Params = Sequence[Any]


class Cursor(Protocol):
    def execute(self, sql: str, params: Params = ...) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Params]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    @property
    def rowcount(self) -> int: ...


class Database(ABC):
    """A pool of connections to one store, and what the ledger's tables need of it."""

    dialect: str  # "sqlite" or "postgresql", for the few statements that differ
    blob: str  # the column type of bytes
    big_int: str  # the column type of a 64-bit integer

    @abstractmethod
    def transaction(self) -> Any:
        """A context manager: a cursor whose statements commit together when the block ends,
        or are rolled back when it raises."""

    @abstractmethod
    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None: ...

    async def afetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """`fetchall` for the event loop, for the consent check's one query. Here (SQLite,
        memory) it runs in place: an index lookup in a file whose readers never wait for its
        writers (WAL), cheaper than the hop to a thread and back. PostgreSQL answers it on
        connections of its own that wait without a thread (postgres_loop_pool.py)."""
        return self.fetchall(sql, params)

    async def open_for_the_loop(self) -> None:
        """Opens what `afetchall` needs on the running loop (an app's lifespan)."""

    async def close_for_the_loop(self) -> None:
        """Closes it, on the same loop."""

    def execute(self, sql: str, params: Params = ()) -> int:
        """One statement in a transaction of its own; answers how many rows it touched."""
        with self.transaction() as cursor:
            cursor.execute(sql, tuple(params))
            return cursor.rowcount

    @abstractmethod
    def executescript(self, ddl: str) -> None:
        """Statements separated by `;` (table definitions: projections.storage.tables)."""

    @abstractmethod
    def checkpoint(self) -> None:
        """Make deleted rows leave the files too (a no-op where the store does it itself)."""

    @abstractmethod
    def exclusive(self, name: str, wait: bool = True) -> Any:
        """A context manager yielding whether this process now holds the lock `name`, one
        holder at a time across processes; False at once, when `wait` is off and it is held."""

    @abstractmethod
    def close(self) -> None: ...


def ask_within(db: Database, sql: str, timeout: float) -> tuple[Any, ...] | None:
    """One quick question for health checks: on PostgreSQL it waits at most `timeout` seconds
    for a connection, rather than the pool's own, longer, wait for a server that went away."""
    pool = getattr(db, "pool", None)
    if pool is None:  # SQLite: a file, nothing to wait for
        return db.fetchone(sql)
    with pool.connection(timeout=timeout) as conn:
        return conn.execute(sql).fetchone()


def open_database(database_url: str, read_only: bool = False) -> Database:
    """The database of the ledger's own tables, at LEDGER_DATABASE_URL; `read_only`: sessions
    that cannot write and no table created (PostgreSQL only)."""
    return _backend(database_url).open_database(database_url, read_only)


def event_store_env(database_url: str) -> dict[str, str]:
    """The eventsourcing library's own settings for the same store."""
    return _backend(database_url).event_store_env(database_url)


def _backend(database_url: str) -> ModuleType:
    # Imported when a URL names it, as the library imports its PERSISTENCE_MODULE: each backend
    # module builds on this one's interface.
    from projections.storage import postgres, sqlite

    for backend in (sqlite, postgres):
        if database_url.startswith(backend.URLS):
            return backend
    raise ValueError(
        f"LEDGER_DATABASE_URL must start with {sqlite.MEMORY_URL}, {sqlite.FILE_URL} or "
        f"{postgres.URLS[0]}"
    )
