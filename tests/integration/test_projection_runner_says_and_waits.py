"""What the runner says when a read model stops and is retried, that a runner with nothing left
to apply returns, that a background runner drains its backlog before it rests, and that readers
wait as long as they were told: on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from api.bootstrap import Stores
from projections.read_models.runner import ProjectionRunner
from tests.integration.failing_read_model import break_inserts, mend


def _subjects(stores: Stores, count: int) -> int:
    for n in range(count):
        stores.ledger.register_subject(f"P{n}", f"p{n}@example.org", "app")
    return int(stores.ledger.recorder.max_notification_id())


def _first(stores: Stores) -> int:
    return stores.ledger.recorder.select_notifications(1, 1)[0].id


def _finishes_within(seconds: float, work: Any) -> bool:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive()


def test_a_read_model_that_stops_is_named_in_one_warning_with_the_batch_and_again_when_retried(
    durable_stores: Stores, durable_read_side: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.projections")
    ledger = durable_stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 4").aggregate.id
    ledger.approve_access(request, "customer-1")
    break_inserts(durable_stores.db, "access_log")
    failing = ledger.use_access(request, "staff-1", "orders/1", "read").position
    head = _subjects(durable_stores, 2)

    durable_read_side.runner.catch_up()

    error = "RaiseException" if durable_stores.db.dialect == "postgresql" else "IntegrityError"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0] == (f"the batch of events {_first(durable_stores)} to {head} failed "
                           f"({error}); applying each read model apart")
    assert durable_read_side.runner.positions()["access_log"] == failing - 1
    assert durable_read_side.read_models.wait_for(head, timeout=0), (
        "readers do not wait for a stopped one"
    )

    mend(durable_stores.db, "access_log")
    assert durable_read_side.runner.retry_stopped() == ["access_log"]

    assert caplog.records[-1].getMessage() == "retrying the stopped read models access_log"
    assert not durable_read_side.runner.wait_for(head, timeout=0), "readers wait for it again"
    durable_read_side.runner.catch_up()
    assert durable_read_side.runner.wait_for(head, timeout=0)


def test_a_runner_whose_every_read_model_is_stopped_reads_nothing_and_returns(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    ledger = durable_stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 4").aggregate.id
    ledger.approve_access(request, "customer-1")
    break_inserts(durable_stores.db, "access_log")
    ledger.use_access(request, "staff-1", "orders/1", "read")
    access_log = [p for p in durable_read_side.runner.projections if p.name == "access_log"]
    alone = ProjectionRunner(durable_stores.ledger, durable_stores.db, access_log)
    alone.catch_up()
    assert [f.name for f in alone.failures()] == ["access_log"]
    _subjects(durable_stores, 1)

    read: list[int] = []
    assert _finishes_within(10, lambda: read.append(alone.catch_up())), "it never returned"
    assert read == [0]


def test_a_started_runner_applies_its_whole_backlog_before_it_rests(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    head = _subjects(durable_stores, 6)
    runner = ProjectionRunner(durable_stores.ledger, durable_stores.db,
                              durable_read_side.runner.projections,
                              poll_interval=60, batch_size=1)  # a rest longer than the test

    runner.start()
    try:
        assert runner.wait_for(head, timeout=10)
    finally:
        runner.stop()


def test_a_reader_given_less_than_a_second_waits_for_rows_that_arrive_within_it(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    head = _subjects(durable_stores, 2)

    def a_moment_later() -> None:
        time.sleep(0.2)
        durable_read_side.runner.catch_up()

    later = threading.Thread(target=a_moment_later)
    later.start()
    try:
        assert durable_read_side.runner.wait_for(head, timeout=0.9)
    finally:
        later.join()


def test_readers_wait_for_a_retried_read_model_that_stopped_at_the_very_first_event(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    break_inserts(durable_stores.db, "subject_profiles")
    first = _subjects(durable_stores, 1)
    durable_read_side.runner.catch_up()
    assert durable_read_side.runner.positions()["subject_profiles"] == first - 1
    mend(durable_stores.db, "subject_profiles")

    durable_read_side.runner.retry_stopped()

    assert not durable_read_side.runner.wait_for(first, timeout=0)
