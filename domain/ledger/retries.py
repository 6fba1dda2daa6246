"""The one way the Ledger retries a command whose save lost an optimistic-concurrency race.

A command reads, decides and saves (get → command → save). Its save fails with
`IntegrityError` when another writer (a thread, or another process on the same store) appended
to the same aggregate since it was read; then the whole command runs again from a fresh read and
decides again, so concurrent callers each get their own answer and no change is lost
(tests/integration/test_concurrency.py). Before that fresh read comes a random pause that
doubles with each lost race (up to a tenth of a second), so writers that keep colliding on one
aggregate spread out; a command that started from a copy known to be possibly stale (a kept
subject, domain/ledger/recent_subjects.py) raises `ReadAgainAtOnce` instead and reads again
without a pause. After MAX_ATTEMPTS lost races the caller gets StateConflict.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError

from domain.errors import StateConflict

R = TypeVar("R")
MAX_ATTEMPTS = 20


class ReadAgainAtOnce(Exception):
    """The save lost its race because the command started from a kept copy that was behind:
    nobody else is colliding now, so the fresh read comes without a pause."""


def retried(attempt: Callable[[], R], what: str) -> R:
    """`attempt()`'s answer, running it again after each lost race; `what` names what was
    changing too fast ("the subject") for the StateConflict at the end."""
    for number in range(MAX_ATTEMPTS):
        try:
            return attempt()
        except ReadAgainAtOnce:
            continue
        except IntegrityError:
            back_off(number)
    raise StateConflict(f"{what} is changing too fast; try again")


def back_off(attempt: int) -> None:
    """A random pause, doubling with each lost race up to a tenth of a second (twenty
    attempts wait at most about two seconds in all)."""
    time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))
