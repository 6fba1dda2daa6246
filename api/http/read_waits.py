"""Read-your-writes without holding a thread: waiting for the read side to reach `min_position`.

A GET with `min_position` answers once every read model has applied that position. The wait
used to block a worker thread for up to `LEDGER_READ_WAIT_SECONDS`, so a few dozen waiting
clients took every thread and everything else queued behind them. Now:

- a position the read side has reached answers at once (one quick query);
- a position beyond the last stored event is a 422 at once: no write ever answered it, so
  waiting could only end in a 503;
- a reachable position is awaited on the event loop, with short checks of `read.position()`
  between sleeps: each check is a brief hop to a thread, the sleeps cost none;
- one caller holds at most `per_caller` waits at once in a process; more is a 429 with
  `Retry-After`, so one client cannot fill the loop with waits.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
from starlette.concurrency import run_in_threadpool

from api.http.problems import ProblemException, field_problem
from projections.read_models.queries.contract import ReadSide

MAX_WAITS_PER_CALLER = 4
FIRST_PAUSE_SECONDS = 0.02  # a write's position is usually applied within a poll or two
LONGEST_PAUSE_SECONDS = 0.05
RETRY_AFTER_SECONDS = "1"


class ReadWaits:
    """How many waits each caller holds now, in this process.

    Only the event loop touches it, and nothing awaits between a check and its update, so
    it needs no lock.
    """

    def __init__(self, per_caller: int = MAX_WAITS_PER_CALLER) -> None:
        self.per_caller = per_caller
        self._held: dict[str, int] = {}

    def enter(self, caller: str) -> bool:
        held = self._held.get(caller, 0)
        if held >= self.per_caller:
            return False
        self._held[caller] = held + 1
        return True

    def leave(self, caller: str) -> None:
        held = self._held.get(caller, 0) - 1
        if held > 0:
            self._held[caller] = held
        else:
            self._held.pop(caller, None)


async def reach(
    read: ReadSide, last_position: Callable[[], int] | None, position: int, timeout: float,
    waits: ReadWaits, caller: Callable[[], str],
) -> None:
    """Return once the read side has reached `position`; else a 422, 429 or 503 problem.
    `last_position`: the last stored event's, where it can be known; a read-only process on a
    replica cannot tell a position not received yet from one never written, and waits."""
    if await run_in_threadpool(read.position) >= position:
        return
    if last_position is not None:
        last = await run_in_threadpool(last_position)
        if position > last:
            raise beyond_the_last_event(last)
    who = caller()
    if not waits.enter(who):
        raise ProblemException(
            429,
            f"you are already waiting for {waits.per_caller} reads to catch up; retry when "
            "one of them has answered",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    try:
        await _poll(read, position, timeout)
    finally:
        waits.leave(who)


def beyond_the_last_event(last: int) -> ProblemException:
    return field_problem(
        "min_position",
        f"is beyond the last stored event ({last}); pass the `position` a write answered",
        "query",
    )


async def _poll(read: ReadSide, position: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            current = await run_in_threadpool(read.position)
            if current >= position:
                return
            raise ProblemException(
                503,
                f"the read side has not reached position {position} yet (it is at {current}); "
                "try again shortly",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        await anyio.sleep(min(pause, remaining))
        pause = min(pause * 1.5, LONGEST_PAUSE_SECONDS)
        if await run_in_threadpool(read.position) >= position:
            return
