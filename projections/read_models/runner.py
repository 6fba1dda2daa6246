"""The projection runner: follows the event log and applies it to the read models, in batches,
each batch committed together with the new tracking positions.

Why it is safe to kill at any moment: a batch's row changes and its `projection_tracking`
updates are one transaction (when a batch fails, one per read model: see below), so after a
crash each read model is exactly as of its last committed position and the runner resumes from
there (the library's TrackingRecorder pattern, on our own table so it shares the transaction
with the ordinary read-model tables).

Why several runners against one store are safe: every batch first locks the projections'
tracking rows (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` locks the
whole file) and re-reads the positions, and which read models are stopped, inside the
transaction. A notification at or below a
projection's committed position is skipped, so nothing is applied twice; a position that went
back (a rebuild reset it) makes the batch start again from there, so nothing is lost. On top of
that, background runners on PostgreSQL take a session advisory lock per group, so one process
applies the projections while the others stand by (and take over if it dies).

Why batches: one transaction per 500 notifications rather than per event makes a rebuild of
a long log take seconds rather than minutes, and a burst of writes cost one commit.

Why one read model that cannot apply an event does not stop the others: when a batch fails for
any reason but the database being unreachable or busy (an event that does not decode included),
each read model's part of it is applied in a transaction of its own, and a read model that still
fails is applied event by event up to the event it cannot apply, which is recorded with the
error; that read model is stopped (skipped here, not waited for by readers) until a runner
starts again or it is rebuilt (projections/read_models/failures.py). Each of those transactions commits one
read model's rows with its own position, under the lock of its tracking row, so the arguments
above hold for every read model on its own, and the next batch starts from the lowest position
of those not stopped.

Read models whose tables changed shape (a bumped `Projection.version`) are dropped, made anew
and set back to position 0 when a runner is made, before anything else touches their tables
(projections/read_models/versions.py); the runner then rebuilds them from the events.

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
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.read_models import crash_points, failures
from projections.storage.database import Cursor, Database
from projections.read_models.failures import Decoded, Failure, PositionWentBack, database_unreachable
from projections.read_models.base import Handler, Projection, Writes
from projections.read_models.tables import TRACKING_TABLE, create_tables

log = logging.getLogger("ledger.projections")

BATCH_SIZE = 500
WAIT_SLICE = 0.05  # how often a waiting reader re-reads the positions from the store
LISTEN_TIMEOUT = 0.25
STANDBY_RETRY = 0.5
RETRY_SECONDS = 1.0  # after a failure (the database went away): wait, then start again
# A position went back under us (a rebuild reset it): read again from there.
_Stale = PositionWentBack
# A position no read model reaches: a stopped read model's, so that the batch passes it by.
_SKIPPED = float("inf")


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
        # None unless the crash test asks this process to die mid-batch (crash_points.py).
        self._crash = crash_points.from_environment()
        self._progress = threading.Condition()
        self._known = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._retry_stopped = False
        create_tables(db, self.projections)  # brings changed read models to their version
        with db.transaction() as cur:
            for name in self.names:
                cur.execute(
                    f"INSERT INTO {TRACKING_TABLE} (name, position) VALUES (%s, 0) "
                    "ON CONFLICT (name) DO NOTHING",
                    (name,),
                )

    # Where things stand
    def positions(self) -> dict[str, int]:
        """Every read model's position, stopped ones included."""
        return failures.tracking(self.db, self.names)[0]

    def position(self) -> int:
        """The lowest position of the read models that are not stopped."""
        return failures.lowest(*failures.tracking(self.db, self.names))

    def failures(self) -> list[Failure]:
        """The read models stopped by an event they could not apply."""
        return failures.failures(self.db, self.names)

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
        going = failures.active(*failures.tracking(self.db, self.names))
        if not going:
            return 0, 0  # every read model is stopped
        start = min(going.values()) + 1
        if until is not None and start > until:
            return 0, 0
        notifications = self.ledger.recorder.select_notifications(
            start, self.batch_size, stop=until
        )
        if not notifications:
            return 0, 0
        decoded = self._decode(notifications)
        last = notifications[-1].id
        try:
            reached = self._apply_together(decoded, start, last)
        except _Stale:
            raise
        except Exception as error:
            if failures.passing(error):
                raise
            log.warning(
                "the batch of events %s to %s failed (%s); applying each read model apart",
                start, last, type(error).__name__,
            )
            failures.apply_apart(self.db, decoded, self.names, start)
            reached = self.position()
        with self._progress:
            self._known = reached
            self._progress.notify_all()
        return len(notifications), last

    def _decode(self, notifications: Sequence[Any]) -> list[Decoded]:
        """Before the transaction: decoding may read data keys, and the transaction stays short.
        An event that does not decode fails only the read models it goes to."""
        decoded: list[Decoded] = []
        for notification in notifications:
            routes = self._routes.get(notification.topic, ())
            event = None
            if routes:
                try:
                    event = self.ledger.mapper.to_domain_event(notification)
                except Exception as error:
                    if failures.passing(error):
                        raise
                    routes = [(name, failures.raising(error)) for name, _ in routes]
            decoded.append((notification.id, routes, event, notification))
        return decoded

    def _apply_together(self, decoded: list[Decoded], start: int, last: int) -> int:
        """The batch for every read model not stopped, in one transaction. Returns the lowest
        position they reached."""
        with self.db.transaction() as cur:
            positions, stopped = self._lock_positions(cur)
            current: dict[str, float] = {
                name: _SKIPPED if name in stopped else position
                for name, position in positions.items()
            }
            if any(position < start - 1 for position in current.values()):
                raise _Stale()
            with _pipelined(cur):
                # Rows are held and sent per table (see `Writes`), before the positions below.
                writes = Writes(cur, self.db.dialect)
                for position, routes, event, _ in decoded:
                    for name, handler in routes:
                        if current[name] < position:  # never twice: skip what is committed
                            handler(writes, event, position)
                writes.flush()
            if self._crash is not None:
                self._crash.reached("rows-written")
            behind = [name for name, position in current.items() if position < last]
            if behind:  # one statement for all: each is a round trip outside the pipeline
                cur.execute(
                    f"UPDATE {TRACKING_TABLE} SET position = %s WHERE name IN "
                    f"({', '.join(['%s'] * len(behind))})",
                    (last, *behind),
                )
            if self._crash is not None:
                self._crash.reached("before-commit")
        if self._crash is not None:
            self._crash.reached("after-commit")
        return failures.lowest(
            {name: max(position, last) for name, position in positions.items()}, stopped
        )

    def _lock_positions(self, cur: Cursor) -> tuple[dict[str, int], set[str]]:
        """The positions, and which read models are stopped, holding the tracking rows: one
        query, as before failures were kept."""
        return failures.lock_tracking(cur, self.db.dialect, self.names)

    def reset(self) -> None:
        """Empty this runner's read models and set their positions back to 0 (for a rebuild).
        A stopped one is tried again: its failure is cleared in the same transaction."""
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
            failures.clear(cur, self.names)
        with self._progress:
            self._known = 0

    def retry_stopped(self) -> list[str]:
        """Clear the failures of this runner's stopped read models, so the next batch tries
        them again from where they stopped. Returns their names."""
        with self.db.transaction() as cur:
            self._lock_positions(cur)
            cleared = failures.clear(cur, self.names)
        if cleared:
            log.warning("retrying the stopped read models %s", ", ".join(cleared))
            with self._progress:
                self._known = 0  # they are behind again: readers wait for them
        return cleared

    # Read-your-writes
    def wait_for(self, position: int, timeout: float) -> bool:
        """True as soon as every projection here that is not stopped has reached `position`;
        False after `timeout` seconds. Wakes at once on this process's own batches and re-reads
        the store every WAIT_SLICE seconds, so another process's progress is seen too."""
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
        """Follow the log in the background. Stopped read models are retried once this runner
        gets to apply (at once, or on PostgreSQL when it takes over from another process): a
        restart is how a fix is deployed."""
        if self.running:
            return
        self._stop.clear()
        self._retry_stopped = True
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
        if self._retry_stopped:
            self.retry_stopped()
            self._retry_stopped = False
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


def _report(error: Exception, what: str) -> None:
    if database_unreachable(error):
        log.warning("%s: the database is unreachable (%s)", what, type(error).__name__)
    else:
        log.exception(what)


def group_lock_key(group: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit key) that one runner of `group` holds."""
    digest = hashlib.sha256(f"ledger-projections/{group}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
