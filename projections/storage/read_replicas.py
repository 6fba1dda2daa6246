"""PostgreSQL streaming replicas, and whether each may answer reads now.

A replica may be read while it streams from its primary and has replayed what it received, or
is less than `max_lag` seconds behind in doing so. One that is cut off from its primary (no WAL
receiver) is not read: how far behind it is cannot be known from the replica alone. A server
that is not in recovery at all (a promoted replica, or a primary named as a replica) is read.

The check is one cheap query, asked at most once per `CHECK_EVERY_SECONDS` per replica by one
thread while the others use the last answer, so no number of requests makes a replica work
for it; a replica that does not answer is not read until a later check finds it back.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from projections.storage.database import Database, ask_within

CHECK_EVERY_SECONDS = 1.0
# A replica that went away must not hold the checking request for the pool's own, longer wait.
CHECK_TIMEOUT_SECONDS = 2.0
log = logging.getLogger("ledger.replicas")

# `pid` of pg_stat_wal_receiver is visible to every role (its other columns need
# pg_read_all_stats); no row, or no pid, means no WAL receiver is running.
_LAG = """
SELECT pg_is_in_recovery(),
       (SELECT pid FROM pg_stat_wal_receiver) IS NOT NULL,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0.0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END
"""


@dataclass(frozen=True)
class ReplicaState:
    readable: bool
    why: str  # for logs and operators: "streaming", "0.4 s behind", "cut off", ...


class Replica:
    def __init__(self, name: str, db: Database, max_lag: float) -> None:
        self.name = name
        self.db = db
        self.max_lag = max_lag
        self._state = ReplicaState(False, "not checked yet")
        self._checked_at = float("-inf")
        self._checking = threading.Lock()

    def state(self) -> ReplicaState:
        if time.monotonic() - self._checked_at >= CHECK_EVERY_SECONDS:
            # One thread checks; the others go on with the last answer meanwhile.
            if self._checking.acquire(blocking=False):
                try:
                    self._check()
                finally:
                    self._checking.release()
        return self._state

    def readable(self) -> bool:
        return self.state().readable

    def _check(self) -> None:
        try:
            row = ask_within(self.db, _LAG, CHECK_TIMEOUT_SECONDS)
        except Exception as error:  # any failure: not read until a later check finds it back
            state = ReplicaState(False, f"does not answer ({type(error).__name__})")
        else:
            state = judged(row, self.max_lag)
        if state.readable != self._state.readable:
            log.warning("read replica %s %s: %s", self.name,
                        "is read again" if state.readable else "is not read", state.why)
        self._state, self._checked_at = state, time.monotonic()


def judged(row: tuple | None, max_lag: float) -> ReplicaState:
    """Whether a replica that answered `_LAG` with `row` may be read."""
    if row is None:
        return ReplicaState(False, "gave no answer")
    in_recovery, receiving, lag = row
    if not in_recovery:
        return ReplicaState(True, "not a standby: reads its own writes")
    if not receiving:
        return ReplicaState(False, "cut off from its primary (no WAL receiver)")
    if lag is None:
        return ReplicaState(False, "has replayed nothing since it started")
    if lag > max_lag:
        return ReplicaState(False, f"{lag:.1f} s behind (more than {max_lag:g} s)")
    return ReplicaState(True, f"{lag:.1f} s behind")
