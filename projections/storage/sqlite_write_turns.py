"""One writer at a time on a SQLite file, across its threads and processes, waiting in the
kernel rather than in SQLite's busy handler.

SQLite lets one transaction write at a time and makes the others retry in sleeps of up to
100 ms (the busy handler). Under a write load, the ledger's commits, the read models' batches
and a second API process kept meeting each other there: the writes' p99 and the read models'
lag were those sleeps (docs/benchmarks.md). Every writing transaction of the file, ours
(`SqliteDatabase.transaction`) and the event store's (`take_turns_with`), first takes an
exclusive `flock` on `<file>.writes.lock`: a waiter is woken the moment the writer before it is
done. Within a process a thread lock comes first, so that one thread at a time waits on the
file; a thread that already holds the turn (a nested transaction) just goes on.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SUFFIX = ".writes.lock"


class WriteTurns:
    def __init__(self, path: str) -> None:
        self.path = f"{path}{SUFFIX}"
        self._threads = threading.Lock()
        self._held = threading.local()
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield
            finally:
                self._held.depth -= 1
            return
        with self._threads:
            fd = self._file()
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._held.depth = 1
            try:
                yield
            finally:
                self._held.depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def close(self) -> None:
        with self._threads:
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def take_turns_with(recorder: Any, turns: WriteTurns) -> None:
    """The event store's writing transactions (the eventsourcing library's SQLite recorder)
    take the same turns as ours. The library has no hook for it, so its datastore's
    `transaction` is wrapped (tests/integration/test_sqlite_write_turns.py holds it to that)."""
    datastore = recorder.datastore
    plain = datastore.transaction

    @contextmanager
    def transaction(*, commit: bool) -> Iterator[Any]:
        if not commit:
            with plain(commit=False) as cursor:
                yield cursor
            return
        with turns.turn(), plain(commit=True) as cursor:
            yield cursor

    datastore.transaction = transaction
