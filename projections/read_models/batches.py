"""Applying the log to the read models a batch at a time, each batch committed together with
the read models' new tracking positions (the runner, runner.py, says when and how far).

Why it is safe to kill at any moment: a batch's row changes and its `projection_tracking`
updates are one transaction (when a batch fails, one per read model: see below), so after a
crash each read model is exactly as of its last committed position and the runner resumes from
there (the library's TrackingRecorder pattern, on our own table so it shares the transaction
with the ordinary read-model tables).

Why several runners against one store are safe: every batch first locks the projections'
tracking rows (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` locks the
whole file) and re-reads the positions, and which read models are stopped, inside the
transaction. A notification at or below a projection's committed position is skipped, so
nothing is applied twice; a position that went back (a rebuild reset it) makes the batch start
again from there, so nothing is lost.

Why batches: one transaction per 500 notifications rather than per event makes a rebuild of
a long log take seconds rather than minutes, and a burst of writes cost one commit.

Why one read model that cannot apply an event does not stop the others: when a batch fails for
any reason but the database being unreachable or busy (an event that does not decode included),
each read model's part of it is applied in a transaction of its own, and one that still fails
stops at the event it cannot apply, alone, until a runner starts again or it is rebuilt
(projections/read_models/failures.py says how, and why the arguments above hold for each read
model on its own); the next batch starts from the lowest position of those not stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.read_models import crash_points, failures
from projections.read_models.base import Handler, Projection
from projections.read_models.writes import Writes
from projections.read_models.failures import Decoded, PositionWentBack
from projections.read_models.tables import TRACKING_TABLE
from projections.storage.database import Cursor, Database

log = logging.getLogger("ledger.projections")

# A position went back under us (a rebuild reset it): read again from there.
_Stale = PositionWentBack
# A position no read model reaches: a stopped read model's, so that the batch passes it by.
_SKIPPED = float("inf")


class Batches:
    """The next batch of the log for the read models of one runner."""

    def __init__(
        self, ledger: Any, db: Database, projections: Sequence[Projection],
        crash_here: bool = True,
    ) -> None:
        self.ledger = ledger
        self.db = db
        self.names = tuple(p.name for p in projections)
        self._routes: dict[str, list[tuple[str, Handler]]] = {}
        for projection in projections:
            for topic, handler in projection.topics().items():
                self._routes.setdefault(topic, []).append((projection.name, handler))
        # None unless the crash test asks this process to die mid-batch (crash_points.py), and
        # always for the runners it does not aim at (`crash_here`: the read models' only).
        self._crash = crash_points.from_environment() if crash_here else None

    def apply(self, until: int | None, size: int) -> tuple[int, int, int]:
        """Apply the next `size` notifications at most (none beyond `until`). Returns how many
        were read, the last one's position and the lowest position the read models that are
        not stopped reached. Raises PositionWentBack when a rebuild reset a position meanwhile."""
        going = failures.active(*failures.tracking(self.db, self.names))
        if not going:
            return 0, 0, 0  # every read model is stopped
        start = min(going.values()) + 1
        if until is not None and start > until:
            return 0, 0, 0
        notifications = self.ledger.recorder.select_notifications(start, size, stop=until)
        if not notifications:
            return 0, 0, 0
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
            reached = failures.lowest(*failures.tracking(self.db, self.names))
        return len(notifications), last, reached

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
            positions, stopped = self.lock_positions(cur)
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

    def lock_positions(self, cur: Cursor) -> tuple[dict[str, int], set[str]]:
        """The positions, and which read models are stopped, holding the tracking rows: one
        query, as before failures were kept."""
        return failures.lock_tracking(cur, self.db.dialect, self.names)


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
