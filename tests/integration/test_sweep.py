"""The clock moved across every deadline: the sweep records what became due, once."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from api.services.sweep import ACTOR, due_from_events, start_sweeper, sweep
from api.services.unsubscribe import UnsubscribeLinkInvalid, unsubscribe
from api.bootstrap import Stores
from domain.access import AccessRequest
from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.data_request import DataRequest
from domain.errors import TenantPurged
from domain.incident import Incident
from domain.personal import ERASED
from domain.tenant import Tenant


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def _events(stores: Stores) -> int:
    return stores.ledger.recorder.max_notification_id() or 0


def _last_event(stores: Stores, aggregate_id):
    return list(stores.ledger.events.get(aggregate_id))[-1]


def test_a_pending_access_request_expires_at_twelve_hours_and_says_when(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    request = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "ticket").aggregate

    clock.move(hours=11, minutes=59)
    assert sweep(ledger).expired_requests == []
    clock.move(hours=3)
    report = sweep(ledger)

    assert report.expired_requests == [request.id]
    assert ledger.access_request(request.id).status == "expired"
    expired = _last_event(stores, request.id)
    assert isinstance(expired, AccessRequest.Expired)
    assert expired.expires_at == request.expires_at  # when it took effect ...
    assert expired.timestamp == clock.now()  # ... and when the ledger noticed


def test_a_grant_ends_when_its_time_is_up(stores: Stores, clock: MovableClock) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    request = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t", None, 90).aggregate
    granted = ledger.approve_access(request.id, "customer-1", duration_minutes=60).aggregate

    clock.move(minutes=59)
    assert sweep(ledger).ended_grants == []
    clock.move(minutes=30)
    assert sweep(ledger).ended_grants == [request.id]
    ended = _last_event(stores, request.id)
    assert isinstance(ended, AccessRequest.GrantEnded)
    assert ended.valid_until == granted.valid_until and ended.timestamp == clock.now()


def test_a_tenant_back_on_day_59_and_gone_again_is_purged_61_days_later(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    subject = ledger.register_subject("Zoë", "zoe@example.org", "app", tenant.id).aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v1", "app")
    ledger.terminate_tenant(tenant.id, "officer")
    clock.move(days=59)
    ledger.reactivate_tenant(tenant.id, "officer")
    clock.move(days=2)  # day 61 of the first termination: the tenant is back, nothing happens
    assert sweep(ledger).purged_tenants == []
    ledger.terminate_tenant(tenant.id, "officer")

    clock.move(days=59)
    assert sweep(ledger).purged_tenants == []
    assert ledger.subject(subject.id).name == "Zoë"  # still kept while it may come back
    clock.move(days=2)
    report = sweep(ledger)

    assert report.purged_tenants == [tenant.id]
    assert ledger.tenant(tenant.id).status == "purged"
    purged = _last_event(stores, tenant.id)
    assert isinstance(purged, Tenant.Purged) and purged.actor == ACTOR
    gone = ledger.subject(subject.id)
    assert (gone.name, gone.email) == (ERASED, ERASED)
    assert ledger.tenant(tenant.id).name == ERASED
    with pytest.raises(UnsubscribeLinkInvalid):
        unsubscribe(ledger, subject.id, "info_mail", None)
    with pytest.raises(TenantPurged):  # a purged tenant never comes back
        ledger.reactivate_tenant(tenant.id, "officer")


def test_a_subjects_request_past_its_month_is_marked_overdue_naming_its_due_date(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    late = ledger.receive_data_request(subject.id, "access", "email", "officer").aggregate
    on_time = ledger.receive_data_request(subject.id, "erasure", "email", "officer").aggregate
    ledger.verify_identity(on_time.id, "id card", "officer")
    ledger.reject_data_request(on_time.id, "not the account holder", "officer")

    clock.set(late.due_at)
    assert sweep(ledger).overdue_requests == []  # due that day: not late yet
    clock.move(seconds=1)
    assert sweep(ledger).overdue_requests == [late.id]
    marked = _last_event(stores, late.id)
    assert isinstance(marked, DataRequest.MarkedOverdue) and marked.due_at == late.due_at
    assert ledger.data_request(late.id).overdue


def test_an_incident_is_overdue_after_72_hours_unless_the_authority_was_told(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    told = ledger.report_incident("Phishing", "mailbox", "medium", [tenant.id], "officer").aggregate
    silent = ledger.report_incident("Laptop", "lost", "high", [tenant.id], "officer").aggregate
    clock.move(hours=71)
    ledger.notify_authority_of_incident(told.id, "AP-2026-1", "officer")
    assert sweep(ledger).overdue_incidents == []

    clock.move(hours=2)
    assert sweep(ledger).overdue_incidents == [silent.id]
    marked = _last_event(stores, silent.id)
    assert isinstance(marked, Incident.MarkedOverdue)
    assert marked.authority_due_at == silent.authority_due_at


def test_sweeping_twice_changes_nothing_the_second_time(stores: Stores, clock: MovableClock) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    doomed = ledger.open_tenant("Leaving", "officer").aggregate
    subject = ledger.register_subject("Ann", "ann@example.org", "app", tenant.id).aggregate
    ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t")
    grant = ledger.request_access(tenant.id, "staff-2", "read", ["orders"], "t").aggregate
    ledger.approve_access(grant.id, "customer-1")
    ledger.receive_data_request(subject.id, "portability", "email", "officer")
    ledger.report_incident("Leak", "bucket", "critical", [tenant.id], "officer")
    ledger.terminate_tenant(doomed.id, "officer")
    clock.move(days=61)

    first = sweep(ledger)
    after_first = _events(stores)
    second = sweep(ledger)

    assert (len(first.expired_requests), len(first.ended_grants), len(first.purged_tenants),
            len(first.overdue_requests), len(first.overdue_incidents)) == (1, 1, 1, 1, 1)
    assert first.position == after_first and first.failures == []
    assert second.changes == 0 and second.position is None
    assert _events(stores) == after_first


def test_a_sweep_asked_about_a_later_moment_than_the_ledgers_clock_changes_nothing_early(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t")
    before = _events(stores)
    report = sweep(ledger, now=clock.now() + timedelta(days=1))
    assert report.changes == 0 and _events(stores) == before


class _ReadSideSaying:
    """Stands in for the read models' answer to "what is due?", which may lag the ledger."""

    def __init__(self, due: dict) -> None:
        self.due = due

    def due_for_sweep(self, now):
        return self.due


def test_the_sweep_takes_the_read_sides_list_but_the_ledger_decides(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    stale = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t").aggregate
    clock.move(hours=13)
    fresh = ledger.request_access(tenant.id, "staff-2", "read", ["orders"], "t").aggregate

    report = sweep(ledger, _ReadSideSaying({"expire_requests": [fresh.id, stale.id],
                                            "purge_tenants": [tenant.id]}))

    assert report.expired_requests == [stale.id]  # the fresh one is not due, whatever the list says
    assert ledger.access_request(fresh.id).status == "pending"
    assert ledger.tenant(tenant.id).status == "active"


def test_the_background_sweeper_expires_what_falls_due_while_the_server_runs() -> None:
    clock = MovableClock()
    ledger = Ledger(clock=clock)
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    request = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t").aggregate
    clock.move(hours=13)

    thread, stop = start_sweeper(ledger, None, interval_seconds=0.01)
    try:
        for _ in range(500):  # bounded: at most a few seconds
            if ledger.access_request(request.id).status == "expired":
                break
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)

    assert ledger.access_request(request.id).status == "expired"
    assert not thread.is_alive()


def test_the_background_sweeper_deletes_kept_exports_through_the_store_it_is_given(
    stores: Stores, clock: MovableClock
) -> None:
    """The sweep makes no store of its own: `ledger serve` and `ledger worker` hand it the
    container's (api/bootstrap.py `Container.delivered_files`)."""
    from api.services.delivered_files import DeliveredFiles
    from api.services.export_formats import Export

    ledger = stores.ledger
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    request = ledger.receive_data_request(subject.id, "access", "email", "officer").aggregate
    files = DeliveredFiles(stores.db, stores.keys, clock)
    export = Export(b'{"name": "Ann"}', "application/json", "ann.json", "json")
    files.keep(request.id, subject.id, export)
    clock.move(days=30, seconds=1)
    asked: list[int] = []

    def delivered_files() -> DeliveredFiles:
        asked.append(1)
        return files

    thread, stop = start_sweeper(ledger, None, 0.01, delivered_files=delivered_files)
    try:
        for _ in range(500):  # bounded: at most a few seconds
            if not files.rows.subjects():
                break
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=5)

    assert files.rows.subjects() == [] and asked


def test_with_the_read_models_caught_up_the_sweep_finds_the_same_work_and_then_none(
    stores: Stores, settings, clock: MovableClock
) -> None:
    from projections.read_models.read_side import open_read_side

    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    doomed = ledger.open_tenant("Leaving", "officer").aggregate
    subject = ledger.register_subject("Ann", "ann@example.org", "app", tenant.id).aggregate
    pending = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t").aggregate
    granted = ledger.request_access(tenant.id, "staff-2", "read", ["orders"], "t").aggregate
    ledger.approve_access(granted.id, "customer-1")
    request = ledger.receive_data_request(subject.id, "access", "email", "officer").aggregate
    incident = ledger.report_incident("Leak", "bucket", "critical", [tenant.id], "officer").aggregate
    ledger.terminate_tenant(doomed.id, "officer")
    clock.move(days=61)
    read = open_read_side(ledger, stores.db, stores.keys, stores.keys.derivation_root(),
                          clock=clock, run_projections=False)
    read.runner.catch_up()

    first = sweep(ledger, read.read_models)
    read.runner.catch_up()
    second = sweep(ledger, read.read_models)

    assert (first.expired_requests, first.ended_grants, first.purged_tenants,
            first.overdue_requests, first.overdue_incidents) == (
        [pending.id], [granted.id], [doomed.id], [request.id], [incident.id]
    )
    assert second.changes == 0
    assert all(not ids for ids in read.read_models.due_for_sweep(clock.now()).values())


def test_the_event_log_and_the_read_models_find_the_same_work_on_each_side_of_every_deadline(
    stores: Stores, clock: MovableClock
) -> None:
    """What is due is the aggregates' rule (`due_from_events` asks them) and the read models'
    SQL with domain/deadlines.py's cut-offs: a microsecond before, at, and after each
    deadline and time limit, both find the same items."""
    from projections.read_models.read_side import open_read_side

    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    leaving = ledger.open_tenant("Leaving", "officer").aggregate
    subject = ledger.register_subject("Ann", "ann@example.org", "app", tenant.id).aggregate
    pending = ledger.request_access(tenant.id, "staff-1", "read", ["orders"], "t").aggregate
    asked = ledger.request_access(tenant.id, "staff-2", "read", ["orders"], "t").aggregate
    granted = ledger.approve_access(asked.id, "customer-1", duration_minutes=60).aggregate
    ledger.request_access(leaving.id, "staff-1", "read", ["orders"], "t")
    request = ledger.receive_data_request(subject.id, "access", "email", "officer").aggregate
    incident = ledger.report_incident("Leak", "bucket", "low", [tenant.id], "officer").aggregate
    terminated = ledger.terminate_tenant(leaving.id, "officer").aggregate
    read = open_read_side(ledger, stores.db, stores.keys, stores.keys.derivation_root(),
                          clock=clock, run_projections=False)
    read.runner.catch_up()
    tick = timedelta(microseconds=1)

    edges = (pending.expires_at, granted.valid_until, request.due_at,
             incident.authority_due_at, terminated.purge_after)
    for edge in edges:
        for moment in (edge - tick, edge, edge + tick):
            from_events = {k: set(ids) for k, ids in due_from_events(ledger, moment).items()}
            from_sql = {k: set(ids) for k, ids in
                        read.read_models.due_for_sweep(moment).items()}
            assert from_events == from_sql, moment
    # A deadline is met at its very moment; a time limit has run out at its very moment.
    assert request.id not in due_from_events(ledger, request.due_at)["overdue_requests"]
    assert request.id in due_from_events(ledger, request.due_at + tick)["overdue_requests"]
    assert granted.id in due_from_events(ledger, granted.valid_until)["end_grants"]
    assert pending.id in due_from_events(ledger, pending.expires_at)["expire_requests"]


def test_ledger_worker_with_sweep_expires_what_falls_due_and_stops_cleanly(tmp_path) -> None:
    """`ledger worker --sweep` as its own process, on the real clock: a pending request made
    to expire after about a second is expired by the worker's sweep, not by this test."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from api import keyfiles
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    url = f"sqlite:///{tmp_path}/ledger.sqlite"
    env = {
        **os.environ, "LEDGER_DATABASE_URL": url, "LEDGER_DATA_DIR": str(tmp_path / "var"),
        "LEDGER_PENDING_REQUEST_HOURS": "0.0003", "LEDGER_SWEEP_INTERVAL_SECONDS": "0.2",
    }
    settings = make_settings(url, tmp_path / "var", pending_request_hours=0.0003)
    keyfiles.ensure_all(settings)
    stores = open_stores(settings)
    try:
        tenant = stores.ledger.open_tenant("Acme", "officer").aggregate
        request = stores.ledger.request_access(tenant.id, "staff-1", "read", ["o"], "t").aggregate
        worker = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "worker", "--no-sealer", "--sweep"],
            cwd=Path(__file__).resolve().parents[2], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            deadline = time.monotonic() + 60  # bounded; it takes a second or two
            while time.monotonic() < deadline:
                if stores.ledger.access_request(request.id).status == "expired":
                    break
                time.sleep(0.1)
        finally:
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
        assert stores.ledger.access_request(request.id).status == "expired", output
        expired = _last_event(stores, request.id)
        assert isinstance(expired, AccessRequest.Expired)
    finally:
        stores.close()
    assert worker.returncode == 0 and "sweep" in output and "worker stopped" in output, output


def test_the_purge_is_in_the_tenants_access_log_and_a_rebuild_gives_the_same_rows(
    stores: Stores, clock: MovableClock
) -> None:
    from projections.read_models import rebuild
    from projections.read_models.all_read_models import read_model_projections
    from projections.read_models.queries.answers import ReadModels

    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    ledger.register_subject("Ann", "ann@example.org", "app", tenant.id)
    ledger.terminate_tenant(tenant.id, "officer")
    clock.move(days=60, seconds=1)
    assert sweep(ledger).purged_tenants == [tenant.id]
    lookup = b"k" * 32
    projections = read_model_projections(stores.keys, lookup)
    rebuild.rebuild(ledger, stores.db, projections)

    log = ReadModels(stores.db, stores.keys, lookup, clock=clock).access_log(tenant.id)["items"]

    assert [(e["action"], e["outcome"], e["actor"], e["resource"]) for e in log] == [
        ("purge", "purged", ACTOR, f"tenants/{tenant.id}")
    ]
    assert log[0]["at"] == clock.now()
    assert rebuild.check(ledger, stores.db, stores.keys, projections).ok
