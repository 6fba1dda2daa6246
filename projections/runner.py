"""The projection runner: follows the event log and applies it to the read models, in batches,
each batch committed together with the new tracking positions.

Why it is safe to kill at any moment: a batch's row changes and its `projection_tracking`
updates are one transaction, so after a crash the read models are exactly as of the last
committed position and the runner resumes from there (the library's TrackingRecorder pattern,
on our own table so it shares the transaction with the ordinary read-model tables).

Why several runners against one store are safe: every batch first locks the projections'
tracking rows (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` locks the
whole file) and re-reads the positions inside the transaction. A notification at or below a
projection's committed position is skipped, so nothing is applied twice; a position that went
back (a rebuild reset it) makes the batch start again from there, so nothing is lost. On top of
that, background runners on PostgreSQL take a session advisory lock per group, so one process
applies the projections while the others stand by (and take over if it dies).

Why batches: one transaction per 500 notifications rather than per event makes a rebuild of
a long log take seconds rather than minutes, and a burst of writes cost one commit.

How it follows the log: on PostgreSQL the library's recorder sends `NOTIFY <table>` on every
insert; the runner LISTENs on a dedicated connection and wakes on each notification (and at
least every quarter second), then reads whatever is new with `select_notifications`, in
batches. SQLite and memory cannot be subscribed to, so there the runner polls.

Why it outlives the database going away: the background loop catches every failure, waits a
second and starts again from the committed positions (a batch cut off by the outage rolled
back). A lost connection is expected in a restart or failover and is logged in one line.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.database import Cursor, Database
from projections.projection import Handler, Projection, Writes
from projections.tables import TRACKING_TABLE, create_tables

log = logging.getLogger("ledger.projections")

BATCH_SIZE = 500
# Set only by the crash test: a pause per notification inside the batch transaction, so a
# SIGKILL can land in the middle of a batch.
DELAY_VARIABLE = "LEDGER_TEST_PROJECTION_DELAY_MS"
WAIT_SLICE = 0.05  # how often a waiting reader re-reads the positions from the store
LISTEN_TIMEOUT = 0.25
STANDBY_RETRY = 0.5
RETRY_SECONDS = 1.0  # after a failure (the database went away): wait, then start again


class _Stale(Exception):
    """A position went back under us (a rebuild reset it): read again from there."""


class ProjectionRunner:
    def __init__(
        self,
        ledger: Any,
        db: Database,
        projections: Sequence[Projection],
        *,
        poll_interval: float = 0.1,
        batch_size: int = BATCH_SIZE,
        group: str = "read_models",
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.projections = tuple(projections)
        self.names = tuple(p.name for p in self.projections)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.group = group
        self.standing_by = False
        self._routes: dict[str, list[tuple[str, Handler]]] = {}
        for projection in self.projections:
            for topic, handler in projection.topics().items():
                self._routes.setdefault(topic, []).append((projection.name, handler))
        self._delay = float(os.environ.get(DELAY_VARIABLE, "0") or 0) / 1000
        self._progress = threading.Condition()
        self._known = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        create_tables(db)
        with db.transaction() as cur:
            for name in self.names:
                cur.execute(
                    f"INSERT INTO {TRACKING_TABLE} (name, position) VALUES (%s, 0) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name,),
                )

    # Where things stand
    def positions(self) -> dict[str, int]:
        rows = self.db.fetchall(
            f"SELECT name, position FROM {TRACKING_TABLE} WHERE name IN "
            f"({', '.join(['%s'] * len(self.names))})",
            self.names,
        )
        found = {name: int(position) for name, position in rows}
        return {name: found.get(name, 0) for name in self.names}

    def position(self) -> int:
        return min(self.positions().values(), default=0)

    def head(self) -> int:
        return int(self.ledger.recorder.max_notification_id() or 0)

    # Processing
    def catch_up(
        self, until: int | None = None, progress: Callable[[int], None] | None = None
    ) -> int:
        """Apply everything recorded so far (or up to `until`), now, in this thread.
        Returns how many notifications were read; `progress` gets each batch's last position."""
        total = 0
        while True:
            try:
                count, last = self._batch(until)
            except _Stale:
                continue
            if count == 0:
                break
            total += count
            if progress is not None:
                progress(last)
        return total

    def _batch(self, until: int | None) -> tuple[int, int]:
        start = self.position() + 1
        if until is not None and start > until:
            return 0, 0
        notifications = self.ledger.recorder.select_notifications(
            start, self.batch_size, stop=until
        )
        if not notifications:
            return 0, 0
        # Decode before the transaction: it may read data keys, and the transaction stays short.
        decoded: list[tuple[int, list[tuple[str, Handler]], Any]] = []
        for notification in notifications:
            routes = self._routes.get(notification.topic, [])
            event = self.ledger.mapper.to_domain_event(notification) if routes else None
            decoded.append((notification.id, routes, event))
        last = notifications[-1].id
        with self.db.transaction() as cur:
            current = self._lock_positions(cur)
            if any(position < start - 1 for position in current.values()):
                raise _Stale()
            with _pipelined(cur):
                # Rows are held and sent per table (see `Writes`), before the positions below.
                writes = Writes(cur, self.db.dialect)
                for position, routes, event in decoded:
                    for name, handler in routes:
                        if current[name] < position:  # never twice: skip what is committed
                            handler(writes, event, position)
                    if self._delay:
                        # The crash test must find rows written and the batch still open.
                        writes.flush()
                        time.sleep(self._delay)
                writes.flush()
            behind = [name for name, position in current.items() if position < last]
            if behind:  # one statement for all: each is a round trip outside the pipeline
                cur.execute(
                    f"UPDATE {TRACKING_TABLE} SET position = %s WHERE name IN "
                    f"({', '.join(['%s'] * len(behind))})",
                    (last, *behind),
                )
        with self._progress:
            self._known = min(max(position, last) for position in current.values())
            self._progress.notify_all()
        return len(notifications), last

    def _lock_positions(self, cur: Cursor) -> dict[str, int]:
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        cur.execute(
            f"SELECT name, position FROM {TRACKING_TABLE} WHERE name IN "
            f"({', '.join(['%s'] * len(self.names))}) ORDER BY name{lock}",
            self.names,
        )
        found = {name: int(position) for name, position in cur.fetchall()}
        return {name: found.get(name, 0) for name in self.names}

    def reset(self) -> None:
        """Empty this runner's read models and set their positions back to 0 (for a rebuild)."""
        with self.db.transaction() as cur:
            self._lock_positions(cur)
            for projection in self.projections:
                for table in projection.tables:
                    cur.execute(f"DELETE FROM {table.name}")
            cur.execute(
                f"UPDATE {TRACKING_TABLE} SET position = 0 WHERE name IN "
                f"({', '.join(['%s'] * len(self.names))})",
                self.names,
            )
        with self._progress:
            self._known = 0

    # Read-your-writes
    def wait_for(self, position: int, timeout: float) -> bool:
        """True as soon as every projection here has reached `position`; False after `timeout`
        seconds. Wakes at once on this process's own batches and re-reads the store every
        WAIT_SLICE seconds, so another process's progress is seen too."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self._known >= position:
                return True
            current = self.position()
            if current >= position:
                with self._progress:
                    self._known = max(self._known, current)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._progress:
                if self._known < position:
                    self._progress.wait(min(remaining, WAIT_SLICE))

    # In the background
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        follow = self._follow_notifications if self._listen_target() else self._poll
        self._thread = threading.Thread(
            target=follow, name=f"projections-{self.group}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the batch in progress commits (or rolls back): never half a batch."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _listen_target(self) -> tuple[str, str] | None:
        channel = getattr(self.ledger.recorder, "channel_name", None)
        conninfo = getattr(self.db, "conninfo", None)
        if self.db.dialect == "postgresql" and channel and conninfo:
            return conninfo, channel
        return None

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                count, _ = self._batch(None)
            except _Stale:
                continue
            if count == 0:
                return

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self._drain()
            except Exception as error:
                _report(error, "projection batch failed; retrying")
                self._stop.wait(max(RETRY_SECONDS, self.poll_interval))
                continue
            self._stop.wait(self.poll_interval)

    def _follow_notifications(self) -> None:
        import psycopg
        from psycopg import sql

        target = self._listen_target()
        assert target is not None
        conninfo, channel = target
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
                    if not self._await_turn(conn):
                        return
                    # LISTEN before the first catch-up, so nothing committed in between is missed.
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    while not self._stop.is_set():
                        self._drain()
                        for _ in conn.notifies(timeout=LISTEN_TIMEOUT, stop_after=1):
                            pass
            except Exception as error:
                _report(error, "projection runner lost its connection or a batch failed; retrying")
                self._stop.wait(RETRY_SECONDS)

    def _await_turn(self, conn: Any) -> bool:
        """Hold the group's advisory lock for as long as the connection lives; stand by until
        it is free. A killed holder's connection closes, which frees the lock."""
        key = group_lock_key(self.group)
        while not self._stop.is_set():
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                self.standing_by = False
                return True
            if not self.standing_by:
                log.info("another process applies the %s projections; standing by", self.group)
            self.standing_by = True
            self._stop.wait(STANDBY_RETRY)
        return False


@contextmanager
def _pipelined(cur: Any) -> Iterator[None]:
    """On PostgreSQL, send a batch's statements without waiting for each answer (psycopg's
    pipeline mode): a rebuild is bound by round trips otherwise. Still one transaction."""
    connection = getattr(cur, "connection", None)
    if connection is None or not hasattr(connection, "pipeline"):
        yield
        return
    with connection.pipeline():
        yield


def database_unreachable(error: BaseException) -> bool:
    """A refused, dropped or timed-out connection (psycopg's or the event store's own class of
    it): what a restart or failover looks like from here, not a bug."""
    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    return isinstance(
        error, (psycopg.OperationalError, psycopg.InterfaceError, OperationalError, InterfaceError)
    )


def _report(error: Exception, what: str) -> None:
    if database_unreachable(error):
        log.warning("%s: the database is unreachable (%s)", what, type(error).__name__)
    else:
        log.exception(what)


def group_lock_key(group: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit key) that one runner of `group` holds."""
    digest = hashlib.sha256(f"ledger-projections/{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
