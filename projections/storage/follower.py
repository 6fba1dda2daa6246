"""Following the event log: the one mechanism of every tracked consumer of the log.

A tracked consumer applies the log from a position it records itself, in the same transaction
as what it writes: the projection runner in `projection_tracking`, the sealer in `merkle_state`.
So it may be stopped, killed or overtaken at any moment and resumes from its record. What it
needs to keep up with the log in a process of many lives here:

- `keep_following`: the loop of its background thread (`FollowingThread`): one step (apply
  what is new), a rest, and on any failure a report and a pause before it tries again from its
  record (a batch cut off by the failure rolled back). So an outage (a restart, a failover)
  pauses the consumer rather than ending it.
- `report_failure`: a database that went away (`database_unreachable`) is expected and is one
  warning line naming the error's class, never its message (a driver's message can quote SQL
  parameters); anything else is logged with its traceback.
- `LeaderLock`: on PostgreSQL one process per consumer applies the log. It holds a session
  advisory lock (projections/storage/advisory_locks.py) for as long as its connection lives;
  the others stand by and take over when that connection ends, as a killed holder's does.
- `listen_and_drain`: PostgreSQL's recorder sends `NOTIFY <table>` on every insert; a consumer
  that LISTENs wakes on each (and at least every `LISTEN_TIMEOUT`) and reads whatever is new.
  SQLite and memory cannot be subscribed to: there a consumer polls.
- `Progress`: waiting for a position. Wakes at once on this process's own progress and re-reads
  the store every `WAIT_SLICE`, so another process's progress is seen too.

Each consumer keeps its own words and pauses: operators and their alerts know them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from projections.storage import advisory_locks

CONNECT_TIMEOUT = 5  # seconds: a consumer's own connection (the lock's, the LISTEN's)
LISTEN_TIMEOUT = 0.25  # a LISTENing consumer drains at least this often, notified or not
WAIT_SLICE = 0.05  # how often a waiting reader re-reads the position from the store


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """The classes of a refused, dropped or timed-out connection, a pool exhausted, a server
    shutting down or starting up, or a transient conflict it asks to retry (deadlock,
    serialization failure): psycopg files all of these under OperationalError; InterfaceError
    is a connection used after it broke. The event store re-raises them as its own classes of
    the same names."""
    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    return (psycopg.OperationalError, psycopg.InterfaceError, OperationalError, InterfaceError)


def database_unreachable(error: BaseException) -> bool:
    """A refused, dropped or timed-out connection (psycopg's or the event store's own class of
    it): what a restart or failover looks like from here, not a bug."""
    return isinstance(error, unreachable_errors())


def report_failure(log: logging.Logger, error: Exception, failed: str, paused: str = "") -> None:
    """Say why a consumer stopped for a moment. Call it while handling `error`: anything but an
    outage is logged with its traceback, under `failed`. An outage is one warning:
    "<paused, else failed>: the database is unreachable (<class>)"."""
    if database_unreachable(error):
        log.warning("%s: the database is unreachable (%s)", paused or failed, type(error).__name__)
    else:
        log.exception(failed)


def keep_following(
    stop: threading.Event, step: Callable[[], float], failed: Callable[[Exception, int], float]
) -> None:
    """Until `stop` is set: `step` applies what is new and says how long to rest. A failure of
    it goes to `failed`, with how many came in a row (this one included), while it is handled;
    `failed` says how long to pause before the next step."""
    failures = 0
    while not stop.is_set():
        try:
            pause = step()
            failures = 0
        except Exception as error:  # a dropped connection must not end following for good
            failures += 1
            pause = failed(error, failures)
        stop.wait(pause)


class FollowingThread:
    """A consumer's background thread, and the event that stops it between two steps."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self, follow: Callable[[], None]) -> None:
        self.stopping.clear()
        self.thread = threading.Thread(target=follow, name=self.name, daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        """The step in progress ends first (a batch commits or rolls back): never half of one."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self.thread = None


def connect(conninfo: str) -> Any:
    """A consumer's own PostgreSQL session, outside the pools: it lives as long as the lock."""
    import psycopg

    return psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


class LeaderLock:
    """One process at a time: a PostgreSQL session advisory lock on `key`, held for as long as
    the connection that took it lives. Ending that session (closing it, or the process dying)
    frees the lock for whoever stands by."""

    def __init__(self, key: int) -> None:
        self.key = key
        self.standing_by = False  # another process held it at the last try
        self.conn: Any = None  # the connection holding it, when `take` took it
        self._checked_at = 0.0

    def try_on(self, conn: Any) -> bool:
        """Take it on `conn` (an autocommit session) if it is free."""
        return advisory_locks.take(conn, self.key, wait=False)

    def await_turn(
        self, conn: Any, stop: threading.Event, retry: float, standing_by: Callable[[], None]
    ) -> bool:
        """Take it on `conn`, trying every `retry` seconds until `stop`; `standing_by` is called
        once when another holds it. False when stopped first."""
        while not stop.is_set():
            if self.try_on(conn):
                self.standing_by = False
                return True
            if not self.standing_by:
                standing_by()
            self.standing_by = True
            stop.wait(retry)
        return False

    def take(self, conninfo: str) -> bool:
        """Take it on a connection of its own if it is free. A server that refuses the
        connection or the lock (a connection limit, a locked-down role) is a standby's answer
        too: never go ahead without the lock."""
        import psycopg

        try:
            conn = connect(conninfo)
        except psycopg.Error:
            return False
        try:
            got = self.try_on(conn)
        except psycopg.Error:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self.conn = conn
        self._checked_at = time.monotonic()
        return True

    def still_held(self, check_every: float) -> bool:
        """Whether the connection that took it still lives, asked of the server at most every
        `check_every` seconds (in between, the last answer holds)."""
        if time.monotonic() - self._checked_at < check_every:
            return True
        try:
            self.conn.execute("SELECT 1")
        except Exception:
            return False
        self._checked_at = time.monotonic()
        return True

    def release(self) -> bool:
        """End the session that holds it. Returns whether one did."""
        if self.conn is None:
            return False
        try:
            self.conn.close()  # ending the session releases the advisory lock
        except Exception:
            pass
        self.conn = None
        return True


def listen_target(recorder: Any, db: Any) -> tuple[str, str] | None:
    """(conninfo, channel) to LISTEN on for the log's inserts; None where it can only be polled
    (SQLite and memory)."""
    channel = getattr(recorder, "channel_name", None)
    conninfo = getattr(db, "conninfo", None)
    if db.dialect == "postgresql" and channel and conninfo:
        return conninfo, channel
    return None


def listen_and_drain(
    conninfo: str, channel: str, lock: LeaderLock, stop: threading.Event,
    drain: Callable[[], None], *, standby_retry: float, standing_by: Callable[[], None],
) -> float:
    """One session of a LISTENing consumer: the lock is taken on the same connection (standing
    by until it is free), then `drain` runs on every notification on `channel` until `stop`.
    A lost connection raises, which frees the lock. Returns the rest after it: none."""
    from psycopg import sql

    with connect(conninfo) as conn:
        if not lock.await_turn(conn, stop, standby_retry, standing_by):
            return 0.0
        # LISTEN before the first drain, so nothing committed in between is missed.
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        while not stop.is_set():
            drain()
            for _ in conn.notifies(timeout=LISTEN_TIMEOUT, stop_after=1):
                pass
    return 0.0


class Progress:
    """How far a consumer has come as this process last saw it, and waiting for a position.
    A consumer calls `reached` after each commit; one whose position went back (a rebuild)
    calls `forget`, so that readers read the store again."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.known = 0

    def reached(self, position: int) -> None:
        with self._changed:
            self.known = position
            self._changed.notify_all()

    def forget(self) -> None:
        with self._changed:
            self.known = 0

    def wait_for(self, position: int, timeout: float, read: Callable[[], int]) -> bool:
        """True as soon as the consumer has reached `position` (`read` reads it from the
        store); False after `timeout` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if self.known >= position:
                return True
            current = read()
            if current >= position:
                with self._changed:
                    self.known = max(self.known, current)
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                if self.known < position:
                    self._changed.wait(min(remaining, WAIT_SLICE))
