"""The PostgreSQL backend (`postgresql://user:password@host:port/dbname`), through psycopg 3.

A pool of autocommit connections; a transaction is a block on one of them. The eventsourcing
library's events are in the same database, on a pool of its own.

Opened `read_only` (a read replica, or any store of a `--read-only` process), every session is
read-only on the server's side (`default_transaction_read_only`), so no code path can write
through it, and `executescript` creates nothing: a hot standby refuses DDL, and the tables are
the writing processes' (`ledger init`) to make.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlparse

from projections.storage import advisory_locks
from projections.storage.database import Database, Params
from projections.storage.postgres_loop_pool import LoopPool

URLS = ("postgresql://", "postgres://")
# libpq's `options`: every transaction of the session is read-only unless it says otherwise.
READ_ONLY_SESSIONS = "-c default_transaction_read_only=on"
# SQLSTATE 25006: what the server answers a write in a read-only transaction or on a standby.
READ_ONLY_TRANSACTION = "25006"
# A pooled connection not handed out for this long is checked (a round trip) before it is
# handed out again; one handed out more recently is not. Checking every time cost a round trip
# per query on the hot paths (docs/benchmarks.md). A server restarted since is met by one failed
# query per such connection (a 503, or the write's own retry), and the pool discards the broken
# one. The time is noted at hand-out, not at return: a `reset` callback would make the pool
# return every connection through a background task, which cost the writers more than the check.
CHECK_AFTER_IDLE_SECONDS = 1.0


def due_for_a_check(conn: Any, idle: float) -> bool:
    """Whether `conn`, being handed out now, was not handed out for `idle` seconds; notes now."""
    now = time.monotonic()
    last, conn.ledger_handed_out_at = getattr(conn, "ledger_handed_out_at", 0.0), now
    return now - last >= idle


def check_when_idle(conn: Any) -> None:
    """A pool's `check`: a round trip only for a connection not handed out for a while."""
    if due_for_a_check(conn, CHECK_AFTER_IDLE_SECONDS):
        from psycopg_pool import ConnectionPool

        ConnectionPool.check_connection(conn)


def check_recorder_when_idle(recorder: Any) -> None:
    """The event store's pool (the eventsourcing library's, made with POSTGRES_PRE_PING) checks
    its connections as ours do: only after they idled. The library takes no such callback, so
    its pool's are set here (tests/integration/test_postgres_pools.py holds it to that)."""
    if is_postgres_recorder(recorder):
        recorder.datastore.pool._check = check_when_idle


class PostgresDatabase(Database):
    dialect = "postgresql"
    blob = "BYTEA"
    big_int = "BIGINT"

    def __init__(
        self, conninfo: str, pool_size: int = 10, schema: str | None = None,
        read_only: bool = False,
    ) -> None:
        from psycopg_pool import ConnectionPool

        self.conninfo = conninfo
        self.read_only = read_only
        # A server that is unreachable (not merely refusing) must not hang a request for minutes.
        options: dict[str, Any] = {"autocommit": True, "connect_timeout": 5}
        if read_only:
            options["options"] = READ_ONLY_SESSIONS
        self.schema = schema

        def configure(conn: Any) -> None:
            if schema:
                conn.execute(f'SET search_path TO "{schema}"')

        self.loop_pool = LoopPool(conninfo, options, schema, pool_size, CHECK_AFTER_IDLE_SECONDS)
        self.pool = ConnectionPool(
            conninfo, min_size=1, max_size=pool_size, kwargs=options, configure=configure,
            # A connection the server has dropped (a restart, a failover) while it idled is
            # noticed and replaced before it is handed out (CHECK_AFTER_IDLE_SECONDS).
            check=check_when_idle, open=True, timeout=10,
        )

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.pool.connection() as conn:
            with conn.transaction():
                with conn.cursor() as cursor:
                    yield cursor

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self.pool.connection() as conn:
            return conn.execute(sql, tuple(params)).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self.pool.connection() as conn:
            return conn.execute(sql, tuple(params)).fetchone()

    async def afetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        if self.loop_pool.usable():
            return await self.loop_pool.fetchall(sql, params)
        return await asyncio.to_thread(self.fetchall, sql, params)

    async def open_for_the_loop(self) -> None:
        await self.loop_pool.open()

    async def close_for_the_loop(self) -> None:
        await self.loop_pool.close()

    def executescript(self, ddl: str) -> None:
        if self.read_only:
            return
        with self.pool.connection() as conn:
            with conn.transaction():
                advisory_locks.take(conn, advisory_locks.DDL_LOCK, transaction=True)
                for statement in (s.strip() for s in ddl.split(";")):
                    if statement:
                        conn.execute(statement)

    def checkpoint(self) -> None:
        pass

    @contextmanager
    def exclusive(self, name: str, wait: bool = True) -> Iterator[bool]:
        """One holder at a time across processes: a session advisory lock, on a connection
        of its own for as long as the block runs."""
        key = advisory_locks.advisory_key(advisory_locks.EXCLUSIVE_PREFIX + name)
        with self.advisory_lock(key, wait) as got:
            yield got

    @contextmanager
    def advisory_lock(self, key: int, wait: bool = True) -> Iterator[bool]:
        """The session advisory lock `key` (projections/storage/advisory_locks.py) on a pooled
        connection held for the block; yields whether it was taken."""
        with self.pool.connection() as conn, advisory_locks.held(conn, key, wait=wait) as got:
            yield got

    def close(self) -> None:
        self.pool.close()


def postgres_parts(database_url: str) -> dict[str, str]:
    parsed = urlparse(database_url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": str(parsed.port or 5432),
        "user": unquote(parsed.username or "postgres"),
        "password": unquote(parsed.password or ""),
        "dbname": (parsed.path or "/postgres").lstrip("/") or "postgres",
    }


def open_database(database_url: str, read_only: bool = False) -> PostgresDatabase:
    parts = postgres_parts(database_url)
    return PostgresDatabase(
        " ".join(f"{k}={v}" for k, v in parts.items() if v), read_only=read_only
    )


def refused_as_read_only(error: BaseException) -> bool:
    """Whether the server refused `error`'s statement because the session or the server is
    read-only (SQLSTATE 25006): a write attempted by a read-only process."""
    return getattr(error, "sqlstate", None) == READ_ONLY_TRANSACTION


def event_store_env(database_url: str) -> dict[str, str]:
    parts = postgres_parts(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts["dbname"],
        "POSTGRES_HOST": parts["host"],
        "POSTGRES_PORT": parts["port"],
        "POSTGRES_USER": parts["user"],
        "POSTGRES_PASSWORD": parts["password"],
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "y",
    }


def is_postgres_recorder(recorder: Any) -> bool:
    """Whether `recorder` is the eventsourcing library's PostgreSQL application recorder."""
    if "eventsourcing.postgres" not in type(recorder).__module__:
        return False  # not imported: psycopg is only needed on PostgreSQL
    from eventsourcing.postgres import PostgresApplicationRecorder

    return type(recorder) is PostgresApplicationRecorder
