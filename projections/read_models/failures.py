"""A read model that cannot apply an event stops alone; the others go on.

The runner applies a batch to every read model in one transaction. When that transaction
fails for a reason that will not pass by itself (anything but an outage: outages.py),
`apply_apart` applies each read model's part of the batch in a transaction of its own, so the
healthy ones commit. A read model whose part fails again is applied event by event,
each event committed with its position, up to the event it cannot apply: that event and the
error are recorded in `projection_failures`, with the read model's position set just before
it, in one transaction. The read model is then stopped: the runner skips it and readers do
not wait for it (`active`), while `ledger projections status` and `/healthz` name it.

Why this keeps the crash-safety argument of the runner: every transaction here still commits
a read model's rows together with that read model's own position, under the lock of its
tracking row, and skips what is at or below the committed position. A crash between two of
them leaves each read model exactly as of its own last commit.

It is retried (its failure cleared) when a runner starts applying the projections, since a
restart is how a fix is deployed, and when the read model is rebuilt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from projections.read_models.base import Handler, Writer
from projections.read_models.outages import passing
from projections.read_models.writes import Writes, storable
from projections.storage.database import Cursor, Database, Params
from projections.read_models.tables import FAILURES_TABLE, TRACKING_TABLE, micros, moment

log = logging.getLogger("ledger.projections")

# One notification of a batch: its position, the (read model, handler) pairs it goes to, the
# decoded event, and the notification itself (for what a failure records).
Decoded = tuple[int, Sequence[tuple[str, Handler]], Any, Any]
MESSAGE_LIMIT = 2000


class PositionWentBack(Exception):
    """A position went back under us (a rebuild reset it): read again from there."""


@dataclass(frozen=True)
class Failure:
    name: str
    position: int
    topic: str
    originator_id: str
    originator_version: int
    error_type: str
    error_message: str
    failed_at: datetime

    def event(self) -> str:
        return (
            f"event {self.position} ({self.topic}, originator {self.originator_id}, "
            f"version {self.originator_version})"
        )

    def describe(self) -> str:
        return (
            f"read model {self.name} stopped at {self.event()}: "
            f"{self.error_type}: {self.error_message}"
        )


def failures(db: Database, names: Sequence[str]) -> list[Failure]:
    """The stopped read models among `names`, by name."""
    if not names:
        return []
    rows = db.fetchall(
        f"SELECT name, position, topic, originator_id, originator_version, error_type, "
        f"error_message, failed_at FROM {FAILURES_TABLE} WHERE name IN ({_marks(names)}) "
        "ORDER BY name",
        tuple(names),
    )
    return [
        Failure(name, int(position), topic, originator_id, int(version), kind, message,
                moment(int(at)))  # type: ignore[arg-type]
        for name, position, topic, originator_id, version, kind, message, at in rows
    ]


def tracking(db: Database, names: Sequence[str]) -> tuple[dict[str, int], set[str]]:
    """Every read model's position (0 before its first batch) and which are stopped: one
    query, the one the runner and the readers already made for the positions."""
    rows = db.fetchall(_TRACKING_SQL.format(marks=_marks(names), lock=""), tuple(names))
    return _positions(rows, names)


def lock_tracking(
    cur: Cursor, dialect: str, names: Sequence[str]
) -> tuple[dict[str, int], set[str]]:
    """`tracking` inside a transaction, holding the tracking rows until it ends (PostgreSQL;
    SQLite's `BEGIN IMMEDIATE` holds the whole file). In name order, so two never deadlock.

    On PostgreSQL, a statement that waited for a row lock sees the latest version of the
    locked rows (the positions) but the failures as they were when it began. For the batch
    that is harmless: a read model stopped a moment ago is tried, fails again and is sorted
    out apart; one retried a moment ago waits one batch. Whatever changes one read model's
    state (`_lock_one`) reads its failure again once it holds the lock."""
    lock = " FOR UPDATE OF t" if dialect == "postgresql" else ""
    cur.execute(_TRACKING_SQL.format(marks=_marks(names), lock=lock), tuple(names))
    return _positions(cur.fetchall(), names)


_TRACKING_SQL = (
    f"SELECT t.name, t.position, f.name FROM {TRACKING_TABLE} t "
    f"LEFT JOIN {FAILURES_TABLE} f ON f.name = t.name "
    "WHERE t.name IN ({marks}) ORDER BY t.name{lock}"
)


def _positions(rows: list[Any], names: Sequence[str]) -> tuple[dict[str, int], set[str]]:
    found = {name: int(position) for name, position, _ in rows}
    stopped = {name for name, _, failed in rows if failed is not None}
    return {name: found.get(name, 0) for name in names}, stopped


def active(positions: dict[str, int], stopped: set[str]) -> dict[str, int]:
    """The positions of the read models that are not stopped."""
    return {name: position for name, position in positions.items() if name not in stopped}


def lowest(positions: dict[str, int], stopped: set[str]) -> int:
    """How far every read model that is not stopped has come: what a reader may wait for.
    When every one is stopped, the lowest of all: then nothing is caught up."""
    going = active(positions, stopped)
    return min((going or positions).values(), default=0)


def clear(cur: Cursor, names: Sequence[str]) -> list[str]:
    """Forget the failures of `names` (they will be tried again). Returns those it cleared."""
    cur.execute(
        f"DELETE FROM {FAILURES_TABLE} WHERE name IN ({_marks(names)}) RETURNING name",
        tuple(names),
    )
    return sorted(name for (name,) in cur.fetchall())


def raising(error: BaseException) -> Handler:
    """The handler of an event that could not be decoded: every read model it goes to fails
    on it, and only those."""

    def handler(writes: Writer, event: Any, position: int) -> None:
        raise error

    return handler


def apply_apart(db: Database, batch: Sequence[Decoded], names: Sequence[str], start: int) -> None:
    """Each read model's part of a batch that failed as a whole, in a transaction of its own;
    a read model whose part fails again is applied event by event and stops at the event it
    cannot apply. Raises PositionWentBack when a rebuild reset a position meanwhile."""
    last = batch[-1][0]
    for name in names:
        part = [
            (position, handler, event, notification)
            for position, routes, event, notification in batch
            for routed, handler in routes if routed == name
        ]
        try:
            if _apply(db, name, part, start, last):
                continue
        except PositionWentBack:
            raise
        except Exception as error:
            if passing(error):
                raise
        _one_by_one(db, name, part, start, last)


Part = list[tuple[int, Handler, Any, Any]]


def _lock_one(cur: Cursor, dialect: str, name: str) -> int | None:
    """Read model `name`'s position, holding its tracking row, or None when it is stopped. The
    failure is read after the lock is held, in a statement of its own, so it is the latest."""
    positions, _ = lock_tracking(cur, dialect, (name,))
    cur.execute(f"SELECT name FROM {FAILURES_TABLE} WHERE name = %s", (name,))
    return None if cur.fetchone() is not None else positions[name]


def _apply(db: Database, name: str, part: Part, start: int, until: int) -> bool:
    """Apply `part` to read model `name` and move its position to `until`, in one
    transaction. False (and nothing done) when it is stopped."""
    with db.transaction() as cur:
        current = _lock_one(cur, db.dialect, name)
        if current is None:
            return False
        if current < start - 1:
            raise PositionWentBack()
        if current >= until:
            return True
        writes = Writes(cur, db.dialect)
        for position, handler, event, _ in part:
            if current < position:  # never twice: skip what is committed
                handler(writes, event, position)
        writes.flush()
        cur.execute(f"UPDATE {TRACKING_TABLE} SET position = %s WHERE name = %s", (until, name))
    return True


def _one_by_one(db: Database, name: str, part: Part, start: int, last: int) -> None:
    for position, handler, event, notification in part:
        try:
            if not _apply(db, name, [(position, handler, event, notification)], start, position):
                return  # another runner stopped it meanwhile
        except PositionWentBack:
            raise
        except Exception as error:
            if passing(error):
                raise
            _stop(db, name, position, notification, error, start)
            return
    # Every event went in on its own (the batch's failure did not come back): carry on.
    _apply(db, name, [], start, last)


def _stop(
    db: Database, name: str, position: int, notification: Any, error: BaseException,
    start: int,
) -> None:
    with db.transaction() as cur:
        current = _lock_one(cur, db.dialect, name)
        if current is None:
            return  # another runner stopped it meanwhile
        if current < start - 1:
            raise PositionWentBack()
        message = storable(" ".join(str(error).split()))[:MESSAGE_LIMIT]  # one line
        values: Params = (
            name, position, notification.topic, str(notification.originator_id),
            int(notification.originator_version), type(error).__name__, message,
            micros_now(),
        )
        cur.execute(
            f"INSERT INTO {FAILURES_TABLE} (name, position, topic, originator_id, "
            "originator_version, error_type, error_message, failed_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            values,
        )
        # Everything before the event is applied (events between the last one it took and
        # this one do not concern it), so its position is the one just before.
        cur.execute(
            f"UPDATE {TRACKING_TABLE} SET position = %s WHERE name = %s AND position < %s",
            (position - 1, name, position - 1),
        )
    log.error(
        "read model %s stopped at event %s (%s, originator %s, version %s): %s: %s; the other "
        "read models go on", name, position, notification.topic, notification.originator_id,
        notification.originator_version, type(error).__name__, message,
        exc_info=(type(error), error, error.__traceback__),
    )


def micros_now() -> int:
    """When a failure was recorded (the runner's wall clock: handlers never read one)."""
    return micros(datetime.now(timezone.utc)) or 0


def _marks(names: Sequence[str]) -> str:
    return ", ".join(["%s"] * len(names))
