"""Legal deadlines through the HTTP API, with the clock moved across each: a month counted as
the GDPR counts it, extensions, a quoted fee's 14 days, and the sweep (the function `ledger
serve` runs every minute, and the `ledger sweep` command) that records what time has made due.

`api` runs a test on SQLite and PostgreSQL (the journeys through the sweep); `sqlite_api` on
SQLite only, for what does not depend on the store (the arithmetic), to keep the suite quick."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.services.sweep import sweep
from api.settings import get_settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, created, fields_named, ok, open_api, problem

UTC = timezone.utc


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def subject_of(api: Api) -> str:
    return created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": "Zoë Jansen", "email": "zoe@example.org"}
    ))["id"]


def receive(officer: User, subject: str, kind: str = "access") -> dict[str, Any]:
    return created(officer.post(
        f"/v1/subjects/{subject}/requests", json={"kind": kind, "channel": "email"}
    ))


def swept(api: Api) -> Any:
    """What `ledger serve` does every minute, now, with the app's own (moved) clock. The read
    side says what is due, so it is caught up first (as `ledger sweep` does)."""
    api.caught_up(api.events())
    report = sweep(api.ledger, api.app.state.read)
    if report.position is not None:
        api.caught_up(report.position)
    return report


def test_31_january_is_due_on_the_last_day_of_february_and_extensions_count_from_receipt(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = subject_of(api)
    api.clock.set(datetime(2026, 1, 31, 10, 30, tzinfo=UTC))

    request = receive(officer, subject)
    assert request["due_at"] == "2026-02-28T10:30:00Z"

    path = f"/v1/requests/{request['id']}/extend"
    once = ok(officer.post(path, json={"months": 1, "reason": "ten years of records"}))
    assert (once["due_at"], once["extended_months"]) == ("2026-03-31T10:30:00Z", 1)
    twice = ok(officer.post(path, json={"months": 1, "reason": "and the archive"}))
    assert twice["due_at"] == "2026-04-30T10:30:00Z"  # three months from receipt, not 28 + 2
    assert fields_named(officer.post(path, json={"months": 1, "reason": "more"})) == {"months"}
    assert fields_named(officer.post(path, json={"months": 1, "reason": ""})) == {"reason"}

    api.clock.set(datetime(2028, 1, 31, 23, 59, tzinfo=UTC))  # a leap year
    assert receive(officer, subject, "portability")["due_at"] == "2028-02-29T23:59:00Z"


def test_a_quoted_export_is_due_14_days_after_the_fee_is_accepted(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = subject_of(api)
    request = receive(officer, subject, "portability")["id"]
    ok(officer.post(f"/v1/requests/{request}/verify-identity", json={"method": "passport"}))
    ok(officer.post(f"/v1/requests/{request}/quote", json={"amount_cents": 2500, "currency": "EUR"}))
    problem(officer.post(f"/v1/requests/{request}/fulfil"), 409)  # not before it is accepted

    api.clock.move(days=3)
    accepted = ok(officer.post(f"/v1/requests/{request}/accept-quote"))

    assert accepted["status"] == "quote_accepted"
    assert accepted["due_at"] == (api.clock.now() + timedelta(days=14)).isoformat().replace(
        "+00:00", "Z"
    )


def test_a_request_past_its_deadline_is_marked_overdue_by_the_sweep_once(api: Api) -> None:
    officer = api.user("officer", "olga")
    subject = subject_of(api)
    request = receive(officer, subject)
    on_time = receive(officer, subject, "objection")["id"]
    ok(officer.post(f"/v1/requests/{on_time}/verify-identity", json={"method": "phone call"}))
    ok(officer.post(f"/v1/requests/{on_time}/reject", json={"reason": "no objection stated"}))

    api.clock.set(datetime.fromisoformat(request["due_at"]))
    assert swept(api).overdue_requests == []  # due today is not late yet
    api.clock.move(seconds=1)
    report = swept(api)
    events = api.events()

    assert [str(i) for i in report.overdue_requests] == [request["id"]]
    late = ok(officer.get("/v1/requests", params={"overdue": "true"}))
    assert [r["id"] for r in late["items"]] == [request["id"]]
    assert on_time not in [r["id"] for r in ok(officer.get("/v1/requests"))["items"] if r["overdue"]]
    # The flag is an event on the request, so the subject's export (read from the events) has it.
    dossier = ok(officer.get(f"/v1/subjects/{subject}/export", params={"format": "json", "reason": "check"}))
    [row] = [r for r in dossier["sheets"]["requests"] if r["request_id"] == request["id"]]
    assert row["overdue"] is True
    events = api.events()  # the export's read is logged (an event), the sweep's work is not
    assert swept(api).changes == 0 and api.events() == events  # a second sweep adds nothing


def test_access_requests_expire_grants_end_and_incidents_go_overdue_as_the_clock_moves(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    officer, staff = api.user("officer", "olga"), api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    ask = {"scope": "read", "resources": ["orders"], "reason": "ticket", "duration_minutes": 60}
    pending = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ask))["id"]
    granted = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ask))["id"]
    ok(customer.post(f"/v1/access-requests/{granted}/approve"))
    incident = created(officer.post("/v1/incidents", json={
        "title": "Leak", "description": "bucket", "severity": "high", "tenant_ids": [tenant],
    }))["id"]

    api.clock.move(hours=1, seconds=1)
    assert [str(i) for i in swept(api).ended_grants] == [granted]
    api.clock.move(hours=11)
    assert [str(i) for i in swept(api).expired_requests] == [pending]
    api.clock.move(hours=61)
    assert [str(i) for i in swept(api).overdue_incidents] == [incident]

    assert ok(customer.get(f"/v1/access-requests/{pending}"))["status"] == "expired"
    assert ok(customer.get(f"/v1/access-requests/{granted}"))["status"] == "ended"
    problem(staff.post(
        f"/v1/access-requests/{granted}/accesses", json={"resource": "orders/1", "action": "read"}
    ), 403)
    assert ok(customer.get(f"/v1/incidents/{incident}"))["overdue"] is True


def test_the_ledger_sweep_command_marks_what_is_due_and_a_second_run_changes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The command runs on the real clock: the request is received 40 days before today.
    api.clock.set(datetime.now(tz=UTC) - timedelta(days=40))
    officer = api.user("officer", "olga")
    request = receive(officer, subject_of(api))["id"]
    monkeypatch.setenv("LEDGER_DATABASE_URL", api.settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(api.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")  # one line per row of rich's table
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli, ["sweep"])
        events = api.events()
        second = CliRunner().invoke(cli, ["sweep"])
    finally:
        get_settings.cache_clear()

    assert first.exit_code == 0, first.output
    assert "1 subjects' requests" in first.output and request in first.output
    assert second.exit_code == 0 and "Nothing was due" in second.output, second.output
    assert api.events() == events
    api.caught_up(events)
    assert ok(officer.get(f"/v1/requests/{request}"))["overdue"] is True


def test_the_server_sweeps_by_itself_while_it_runs(tmp_path: Path) -> None:
    """`ledger serve` runs the same sweep every LEDGER_SWEEP_INTERVAL_SECONDS in-process."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", poll_interval_ms=10,
        sweep_interval_seconds=0.05,
    )
    with closing(open_api(settings, MovableClock())) as running:
        api = next(running)
        staff = api.user("staff", "sam")
        tenant = created(api.user("officer", "olga").post("/v1/tenants", json={"name": "Acme"}))
        pending = created(staff.post(f"/v1/tenants/{tenant['id']}/access-requests", json={
            "scope": "read", "resources": ["orders"], "reason": "ticket",
        }))["id"]
        api.clock.move(hours=12, seconds=1)
        deadline = time.monotonic() + 30  # bounded; it takes a fraction of a second
        while time.monotonic() < deadline:
            if api.ledger.access_request(UUID(pending)).status == "expired":
                break
            time.sleep(0.01)
        assert ok(staff.get(f"/v1/access-requests/{pending}",
                            params={"min_position": api.events()}))["status"] == "expired"
