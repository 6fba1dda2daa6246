"""The projection runner: follows the event log and applies it to the read models, in batches,
each batch committed together with the new tracking positions (projections/read_models/
batches.py says why that is safe to kill at any moment, with several runners at once).

On top of that, background runners on PostgreSQL take a session advisory lock per group, so one
process applies the projections while the others stand by (and take over if it dies). How the
runner follows the log (LISTEN on PostgreSQL, polling on SQLite and memory), stands by and
outlives the database going away is projections/storage/follower.py: the mechanism it shares
with the sealer, the other tracked consumer of the log.

A read model that cannot apply an event is stopped (skipped here, not waited for by readers)
until a runner starts again or it is rebuilt (projections/read_models/failures.py).

Read models whose tables changed shape (a bumped `Projection.version`) are dropped, made anew
and set back to position 0 when a runner is made, before anything else touches their tables
(projections/read_models/versions.py); the runner then rebuilds them from the events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from projections.read_models import failures
from projections.read_models.base import Projection
from projections.read_models.batches import Batches
from projections.read_models.failures import Failure, PositionWentBack
from projections.read_models.tables import TRACKING_TABLE, create_tables
from projections.storage.advisory_locks import advisory_key
from projections.storage.database import Database
from projections.storage.follower import (
    FollowingThread,
    LeaderLock,
    Progress,
    keep_following,
    listen_and_drain,
    listen_target,
    report_failure,
)

log = logging.getLogger("ledger.projections")

BATCH_SIZE = 500
STANDBY_RETRY = 0.5  # how often a runner that stands by tries the group's lock again
RETRY_SECONDS = 1.0  # after a failure (the database went away): wait, then start again
# A position went back under us (a rebuild reset it): read again from there.
_Stale = PositionWentBack


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
        self._batches = Batches(ledger, db, self.projections, crash_here=group == "read_models")
        self._progress = Progress()
        self._following = FollowingThread(f"projections-{group}")
        self._lock = LeaderLock(group_lock_key(group))
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
        count, last, reached = self._batches.apply(until, self.batch_size)
        if count:
            self._progress.reached(reached)
        return count, last

    def reset(self) -> None:
        """Empty this runner's read models and set their positions back to 0 (for a rebuild).
        A stopped one is tried again: its failure is cleared in the same transaction."""
        with self.db.transaction() as cur:
            self._batches.lock_positions(cur)
            for projection in self.projections:
                for table in projection.tables:
                    cur.execute(f"DELETE FROM {table.name}")
            cur.execute(
                f"UPDATE {TRACKING_TABLE} SET position = 0 WHERE name IN "
                f"({', '.join(['%s'] * len(self.names))})",
                self.names,
            )
            failures.clear(cur, self.names)
        self._progress.forget()

    def retry_stopped(self) -> list[str]:
        """Clear the failures of this runner's stopped read models, so the next batch tries
        them again from where they stopped. Returns their names."""
        with self.db.transaction() as cur:
            self._batches.lock_positions(cur)
            cleared = failures.clear(cur, self.names)
        if cleared:
            log.warning("retrying the stopped read models %s", ", ".join(cleared))
            self._progress.forget()  # they are behind again: readers wait for them
        return cleared

    # Read-your-writes
    def wait_for(self, position: int, timeout: float) -> bool:
        """True as soon as every projection here that is not stopped has reached `position`;
        False after `timeout` seconds. Wakes at once on this process's own batches and re-reads
        the store meanwhile, so another process's progress is seen too."""
        return self._progress.wait_for(position, timeout, self.position)

    # In the background
    @property
    def running(self) -> bool:
        return self._following.running

    @property
    def standing_by(self) -> bool:
        """Another process holds this group's lock and applies its projections."""
        return self._lock.standing_by

    def start(self) -> None:
        """Follow the log in the background. Stopped read models are retried once this runner
        gets to apply (at once, or on PostgreSQL when it takes over from another process): a
        restart is how a fix is deployed."""
        if self.running:
            return
        self._retry_stopped = True
        self._following.start(self._follow)

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the batch in progress commits (or rolls back): never half a batch."""
        self._following.stop(timeout)

    def _follow(self) -> None:
        """Poll; on PostgreSQL, LISTEN on a connection that holds the group's lock."""
        stop, target = self._following.stopping, listen_target(self.ledger.recorder, self.db)
        if target is None:
            keep_following(stop, self._poll, self._poll_failed)
            return
        conninfo, channel = target

        def listen() -> float:
            return listen_and_drain(conninfo, channel, self._lock, stop, self._drain,
                                    standby_retry=STANDBY_RETRY, standing_by=self._stands_by)

        keep_following(stop, listen, self._listen_failed)

    def _drain(self) -> None:
        if self._retry_stopped:
            self.retry_stopped()
            self._retry_stopped = False
        while not self._following.stopping.is_set():
            try:
                count, _ = self._batch(None)
            except _Stale:
                continue
            if count == 0:
                return

    def _poll(self) -> float:
        self._drain()
        return self.poll_interval

    def _poll_failed(self, error: Exception, in_a_row: int) -> float:
        report_failure(log, error, "projection batch failed; retrying")
        return max(RETRY_SECONDS, self.poll_interval)

    def _listen_failed(self, error: Exception, in_a_row: int) -> float:
        report_failure(log, error, "projection runner lost its connection or a batch failed; retrying")
        return RETRY_SECONDS

    def _stands_by(self) -> None:
        log.info("another process applies the %s projections; standing by", self.group)


def group_lock_key(group: str) -> int:
    """The PostgreSQL advisory lock (a signed 64-bit key) that one runner of `group` holds."""
    return advisory_key(f"ledger-projections/{group}")
