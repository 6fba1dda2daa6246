"""The log follower (projections/storage/follower.py), the one mechanism of the projection
runner and the sealer, without a database: the lock keys every deployed process agrees on, the
loop that pauses after a failure and starts again, what it says about a failure, and waiting
for a position."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest

from projections.merkle_log.sealer import SEALER_LOCK_KEY
from projections.read_models.runner import group_lock_key
from projections.storage.follower import Progress, keep_following, report_failure


def test_the_lock_keys_are_those_every_running_process_takes() -> None:
    """A process of the previous release and one of this must take the same lock."""
    assert SEALER_LOCK_KEY == -3433987365187219689
    assert group_lock_key("read_models") == 194463091582795162


def test_the_loop_rests_as_a_step_says_pauses_after_a_failure_and_counts_failures_in_a_row() -> None:
    stop = threading.Event()
    outcomes = iter([ValueError, ValueError, 0.0, ValueError, None])
    pauses: list[float] = []
    in_a_row: list[int] = []

    def step() -> float:
        outcome = next(outcomes)
        if outcome is None:
            stop.set()
            return 0.01
        if outcome is ValueError:
            raise ValueError("a failure")
        return outcome

    def failed(error: Exception, failures: int) -> float:
        assert isinstance(error, ValueError)
        in_a_row.append(failures)
        return 0.001 * failures

    original_wait = stop.wait

    def wait(seconds: float) -> bool:
        pauses.append(seconds)
        return original_wait(0)

    stop.wait = wait  # type: ignore[method-assign]
    keep_following(stop, step, failed)

    assert in_a_row == [1, 2, 1]
    assert pauses == [0.001, 0.002, 0.0, 0.001, 0.01]


def test_a_stopped_loop_takes_no_step() -> None:
    stop = threading.Event()
    stop.set()
    keep_following(stop, lambda: pytest.fail("a step after stop"), lambda e, n: 0.0)  # type: ignore[arg-type, return-value]


def test_an_outage_is_one_warning_naming_the_error_class_anything_else_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("tests.follower")
    caplog.set_level(logging.INFO, logger="tests.follower")
    for error, paused in ((psycopg.OperationalError("gone"), ""),
                          (psycopg.InterfaceError("closed"), "sealing paused"),
                          (RuntimeError("a bug"), "sealing paused")):
        try:
            raise error
        except Exception as caught:
            report_failure(log, caught, "it failed; retrying", paused=paused)

    said = [(r.levelno, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert said == [
        (logging.WARNING, "it failed; retrying: the database is unreachable (OperationalError)", False),
        (logging.WARNING, "sealing paused: the database is unreachable (InterfaceError)", False),
        (logging.ERROR, "it failed; retrying", True),
    ]


def test_a_reader_waits_for_a_position_reached_in_this_process_or_read_from_the_store() -> None:
    progress, stored = Progress(), [0]
    assert not progress.wait_for(3, 0, lambda: stored[0])
    assert progress.wait_for(0, 0, lambda: pytest.fail("nothing to wait for"))  # type: ignore[arg-type, return-value]

    threading.Timer(0.1, progress.reached, (3,)).start()
    started = time.monotonic()
    assert progress.wait_for(3, 10, lambda: stored[0])
    assert time.monotonic() - started < 5
    assert progress.known == 3

    progress.forget()
    stored[0] = 5  # another process got there
    assert progress.wait_for(5, 0, lambda: stored[0])
    assert progress.known == 5

    started = time.monotonic()
    assert not progress.wait_for(6, 0.2, lambda: stored[0])
    assert 0.2 <= time.monotonic() - started < 5
