"""The runner: resumes where it stopped, never applies an event twice, shares a store safely."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from api.bootstrap import start_read_side
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from projections.read_models.rebuild import check, rebuild
from tests.conftest import make_settings


def _write(stores: Stores, subjects: int) -> int:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    request = ledger.request_access(tenant, "staff-1", "read", ["people"], "t").aggregate.id
    ledger.approve_access(request, "customer-1")
    last = 0
    for n in range(subjects):
        subject = ledger.register_subject(f"P{n}", f"p{n}@example.org", "app", tenant).aggregate.id
        ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
        last = ledger.use_access(request, "staff-1", f"people/{n}", "read").position
    return last


def _rows(stores: Stores, table: str) -> int:
    row = stores.db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


def test_a_new_runner_resumes_where_the_last_one_stopped_and_applies_nothing_twice(
    stores: Stores, settings: Settings, clock: MovableClock
) -> None:
    first = start_read_side(stores, settings, run_projections=False, clock=clock)
    _write(stores, 5)
    first.runner.catch_up()
    last = _write(stores, 3)

    second = start_read_side(stores, settings, run_projections=False, clock=clock)
    read = second.runner.catch_up()

    assert read == 3 * 3 + 3, "only what came after the last committed position"
    assert second.read_models.position() == last
    assert _rows(stores, "access_log") == 8
    assert _rows(stores, "consent_history") == 8
    assert second.runner.catch_up() == 0


def test_two_runners_racing_on_one_store_apply_each_event_once(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    writer = open_stores(settings, clock=clock)
    others = [open_stores(settings, clock=clock) for _ in range(2)]
    try:
        last = _write(writer, 40)
        sides = [start_read_side(s, settings, run_projections=False, clock=clock) for s in others]
        for side in sides:
            side.runner.batch_size = 7  # many small batches, so the two really interleave
        errors: list[BaseException] = []

        def catch_up(side: Any) -> None:
            try:
                side.runner.catch_up()
            except BaseException as error:  # a double insert would surface here
                errors.append(error)

        threads = [threading.Thread(target=catch_up, args=(side,)) for side in sides]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []

        assert sides[0].read_models.position() == last
        assert _rows(writer, "access_log") == 40
        assert _rows(writer, "consent_history") == 40
        report = check(writer.ledger, writer.db, writer.keys, sides[0].runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
    finally:
        for opened in [writer, *others]:
            opened.close()


def test_a_rebuild_while_a_runner_follows_the_log_ends_with_the_same_rows(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var", poll_interval_ms=10)
    stores = open_stores(settings, clock=clock)
    side = start_read_side(stores, settings, clock=clock)
    try:
        _write(stores, 20)
        rebuilt = threading.Thread(
            target=rebuild, args=(stores.ledger, stores.db, side.runner.projections)
        )
        rebuilt.start()
        last = _write(stores, 10)
        rebuilt.join()

        assert side.read_models.wait_for(last, timeout=20)
        assert _rows(stores, "access_log") == 30
        report = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
    finally:
        side.stop()
        stores.close()


def test_a_started_runner_follows_new_events_until_it_is_stopped(
    stores: Stores, settings: Settings, clock: MovableClock
) -> None:
    side = start_read_side(stores, settings, clock=clock)
    try:
        subject = stores.ledger.register_subject("Ann", "ann@example.org", "app")
        assert side.read_models.wait_for(subject.position, timeout=10)
        assert side.read_models.subject_profile(subject.aggregate.id)["name"] == "Ann"
    finally:
        side.stop()
    assert not side.runner.running
    later = stores.ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
    assert side.read_models.wait_for(later.position, timeout=0.3) is False


def test_a_second_runner_on_postgresql_stands_by_and_takes_over_when_the_first_stops(
    pg_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(pg_url, tmp_path / "var")
    first_stores, second_stores = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    first = start_read_side(first_stores, settings, clock=clock)
    second = start_read_side(second_stores, settings, clock=clock)
    try:
        _eventually(lambda: first.runner.standing_by or second.runner.standing_by)
        working, waiting = (first, second) if second.runner.standing_by else (second, first)
        early = first_stores.ledger.register_subject("Ann", "ann@example.org", "app")
        assert waiting.read_models.wait_for(early.position, timeout=10)
        assert waiting.runner.standing_by, "the lock holder did the work"

        working.stop()
        later = first_stores.ledger.register_subject("Bea", "bea@example.org", "app")
        assert waiting.read_models.wait_for(later.position, timeout=10)
        assert not waiting.runner.standing_by
        assert waiting.read_models.subject_profile(later.aggregate.id)["name"] == "Bea"
    finally:
        first.stop()
        second.stop()
        first_stores.close()
        second_stores.close()


def _eventually(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.02)


def test_a_rebuild_of_many_decided_and_expired_requests_in_one_batch_matches_the_live_rows(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    """Approvals and expiries take their tenant from the request's row, inside the same
    statement: on PostgreSQL the batch is pipelined, and a read in the middle of it failed
    in the one-million-event benchmark's rebuild (not reproduced at this size)."""
    settings = make_settings(durable_database_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    side = start_read_side(stores, settings, clock=clock, run_projections=False)
    try:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
        for n in range(150):
            request = ledger.request_access(tenant, "staff-1", "read", ["orders"], f"t{n}")
            if n % 3:
                ledger.approve_access(request.aggregate.id, "customer-1")
        clock.move(hours=13)
        side.runner.catch_up()
        for row in side.read_models.due_for_sweep(clock.now())["expire_requests"]:
            ledger.expire_access_request(row)
        side.runner.catch_up()

        rebuild(ledger, stores.db, side.runner.projections)

        report = check(ledger, stores.db, stores.keys, side.runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
        assert _rows(stores, "access_request_history") == 150 + 100 + 50
    finally:
        side.stop()
        stores.close()
