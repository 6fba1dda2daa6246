"""Crash points: a test-only way to make the projection worker die (SIGKILL, no cleanup) at a
named moment of a batch.

Why it exists: the runner promises that a batch's rows and its tracking position commit
together, so a process killed at any moment resumes exactly once. A kill sent from outside lands
wherever the scheduler puts it (in practice always inside the open transaction), so a runner
that committed rows and position in two transactions would pass such a test. These points let
tests/integration/test_projection_crash.py kill it exactly where the two steps would part.

Set only by tests: `LEDGER_TEST_PROJECTION_CRASH=<point>:<n>` makes the process kill itself the
n-th time it reaches <point> (the n-th batch applied together). Read once when a runner is
made; unset, the runner holds None and each point costs one `is not None` test.
"""

from __future__ import annotations

import os
import signal
import sys

CRASH_VARIABLE = "LEDGER_TEST_PROJECTION_CRASH"
# The rows are on the server, the transaction open; the tracking UPDATE is on the server too,
# the commit not yet asked for; the commit has returned.
POINTS = ("rows-written", "before-commit", "after-commit")


class CrashPoints:
    def __init__(self, point: str, times: int) -> None:
        if point not in POINTS or times < 1:
            raise ValueError(f"{CRASH_VARIABLE}: expected <{'|'.join(POINTS)}>:<n ≥ 1>")
        self.point, self.times, self.seen = point, times, 0

    def reached(self, point: str) -> None:
        if point != self.point:
            return
        self.seen += 1
        if self.seen == self.times:
            # Said first, so the test can tell this kill from any other death.
            sys.stderr.write(f"crash point {point} reached at batch {self.seen}: SIGKILL\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def from_environment() -> CrashPoints | None:
    setting = os.environ.get(CRASH_VARIABLE, "")
    if not setting:
        return None
    point, _, times = setting.partition(":")
    return CrashPoints(point, int(times or 1))
