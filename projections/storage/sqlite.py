"""The SQLite backend: a file (`sqlite:///path`) or a private in-memory store (`memory://`).

Each thread has its own connection to a file (WAL, synchronous FULL); an in-memory store is
one connection shared by the threads of the process. The events of a `memory://` store are the
eventsourcing library's own in-memory (POPO) recorder; those of a file are in the same file.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from projections.storage.database import Database, Params
from projections.storage.sqlite_write_turns import WriteTurns, take_turns_with

MEMORY_URL = "memory://"
FILE_URL = "sqlite:///"
URLS = (MEMORY_URL, FILE_URL)

_PLACEHOLDER = re.compile(r"%s")
BUSY_TIMEOUT_MS = 30_000
# An erasure's checkpoint holds writers back while it waits: never for long (issue 13).
CHECKPOINT_WAIT_MS = 250


def _qmarks(sql: str) -> str:
    """The portable SQL's `%s` placeholders as SQLite's `?`."""
    return _PLACEHOLDER.sub("?", sql)


class _SqliteCursor:
    """Translates `%s` to `?` so the same SQL runs on both stores."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> Any:
        return self._cursor.execute(_qmarks(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> Any:
        return self._cursor.executemany(_qmarks(sql), rows)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class SqliteDatabase(Database):
    dialect = "sqlite"
    blob = "BLOB"
    big_int = "INTEGER"

    def __init__(self, path: str | None) -> None:
        """`path=None` is a private in-memory database shared by the threads of this process."""
        self.path = path
        self._local = threading.local()
        # Every connection with the lock its user holds while it runs a statement: closing a
        # connection while another thread is inside sqlite3 crashes the interpreter, so
        # `close()` takes each lock first and waits for the statement in flight to finish.
        self._all: list[tuple[sqlite3.Connection, threading.RLock]] = []
        self._registry_lock = threading.Lock()
        self._shared: tuple[sqlite3.Connection, threading.RLock] | None = None
        self._process_locks: dict[str, threading.Lock] = {}
        self.turns: WriteTurns | None = None
        if path is None:
            self._shared = self._connect(f"file:ledger-{uuid.uuid4()}?mode=memory", uri=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.turns = WriteTurns(path)  # sqlite_write_turns.py

    def _connect(
        self, target: str, uri: bool = False
    ) -> tuple[sqlite3.Connection, threading.RLock]:
        conn = sqlite3.connect(
            target, isolation_level=None, check_same_thread=False, timeout=30, uri=uri
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Deleted rows (an erased subject's read-model rows, a shredded key) are overwritten
        # with zeros rather than left in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        if target != ":memory:" and not uri:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
        entry = (conn, threading.RLock())
        with self._registry_lock:
            self._all.append(entry)
        return entry

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        entry = self._shared
        if entry is None:
            entry = getattr(self._local, "entry", None)
            if entry is None:
                assert self.path is not None
                entry = self._local.entry = self._connect(self.path)
        conn, lock = entry
        with lock:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[_SqliteCursor]:
        turn = self.turns.turn() if self.turns is not None else nullcontext()
        with turn, self._transaction() as cursor:
            yield cursor

    def share_turns_with(self, recorder: Any) -> None:
        """The event store in this file writes in the same turns as the read models."""
        if self.turns is not None and type(recorder).__module__ == "eventsourcing.sqlite":
            take_turns_with(recorder, self.turns)

    @contextmanager
    def _transaction(self) -> Iterator[_SqliteCursor]:
        with self._connection() as conn:
            # IMMEDIATE takes the write lock up front, so two writers queue instead of
            # deadlocking on a lock upgrade.
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteCursor(conn.cursor())
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self._connection() as conn:
            return conn.execute(_qmarks(sql), tuple(params)).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        with self._connection() as conn:
            return conn.execute(_qmarks(sql), tuple(params)).fetchone()

    def executescript(self, ddl: str) -> None:
        with self._connection() as conn:
            conn.executescript(ddl)

    def checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it, so a destroyed key's old
        page does not linger in the -wal file. A reader holding an old snapshot keeps the
        log from being emptied, and while the checkpoint waits for it no writer may write:
        so it waits a bounded time (CHECKPOINT_WAIT_MS) and gives up. What it leaves in the
        log is a wrapping that only the epoch's key-encryption key opens, and that key is
        destroyed on schedule (projections.storage.key_epochs)."""
        if self._shared is None:
            with self._connection() as conn:
                conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
                try:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    @contextmanager
    def exclusive(self, name: str, wait: bool = True) -> Iterator[bool]:
        """One holder at a time across processes (a lock file beside the database; within
        the process for an in-memory one). Yields False when `wait` is off and it is held."""
        if self.path is None:
            lock = self._process_locks.setdefault(name, threading.Lock())
            got = lock.acquire(blocking=wait)
            try:
                yield got
            finally:
                if got:
                    lock.release()
            return
        import fcntl

        fd = os.open(f"{self.path}.{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                got = True
            except BlockingIOError:
                got = False
            yield got
        finally:
            os.close(fd)  # closing the file releases the lock

    def close(self) -> None:
        if self.turns is not None:
            self.turns.close()
        with self._registry_lock:
            entries, self._all = self._all, []
            self._local = threading.local()
        for conn, lock in entries:
            # A statement still running in another thread (a background sweep, say) is let
            # finish; that thread's next use then fails cleanly on the closed connection.
            if not lock.acquire(timeout=60):
                continue  # left open rather than pulled from under a running statement
            try:
                conn.close()
            except sqlite3.Error:
                pass
            finally:
                lock.release()


def sqlite_path(database_url: str) -> str:
    """`sqlite:///./var/ledger.sqlite` → `./var/ledger.sqlite`; `sqlite:////abs` → `/abs`."""
    return database_url[len(FILE_URL):]


def open_database(database_url: str, read_only: bool = False) -> SqliteDatabase:
    if read_only:
        # A read-only process exists to read a replica; SQLite has none, and a second process
        # on the same file may as well be a writing one.
        raise ValueError("a read-only process needs PostgreSQL (LEDGER_DATABASE_URL or "
                         "LEDGER_READ_DATABASE_URL postgresql://...): SQLite has no replicas")
    if database_url.startswith(MEMORY_URL):
        return SqliteDatabase(None)
    return SqliteDatabase(sqlite_path(database_url))


def event_store_env(database_url: str) -> dict[str, str]:
    if database_url.startswith(MEMORY_URL):
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    path = sqlite_path(database_url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30"}
