"""Read models that keep going: text with NUL is stored, and a read model that cannot apply an
event stops alone and says so (status, /healthz), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli.main import app as cli
from api.bootstrap import start_read_side
from api.settings import Settings, get_settings
from api.bootstrap import Stores, open_stores
from domain.access import AccessRequest
from domain.clock import MovableClock
from projections.read_models import failures
from projections.read_models.rebuild import check, rebuild
from tests.conftest import make_settings
from tests.integration.failing_read_model import break_inserts, mend

ACCESS_RECORDED = "domain.access:AccessRequest.AccessRecorded"


@pytest.fixture
def cli_settings(
    durable_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The CLI reads LEDGER_* from the environment, as it would in a shell."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LEDGER_DATABASE_URL", durable_database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield make_settings(durable_database_url, tmp_path / "var", poll_interval_ms=10)
    get_settings.cache_clear()


@pytest.fixture
def cli_stores(cli_settings: Settings, clock: MovableClock) -> Iterator[Stores]:
    stores = open_stores(cli_settings, clock=clock)
    try:
        yield stores
    finally:
        stores.close()


def _granted(stores: Stores) -> tuple[UUID, UUID]:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 4").aggregate.id
    ledger.approve_access(request, "customer-1")
    return tenant, request


def _again_with(stores: Stores, aggregate_id: UUID, kind: type, **changes: Any) -> int:
    """Record once more the aggregate's last event of `kind`, with `changes`, straight through
    the event store: past the domain's checks, as an event stored before them would be."""
    ledger = stores.ledger
    template = [e for e in ledger.repository.event_store.get(aggregate_id) if type(e) is kind][-1]
    skip = ("originator_id", "originator_version", "originator_topic")
    fields = {k: v for k, v in vars(template).items() if k not in skip} | changes
    if issubclass(kind, AccessRequest.Requested):
        ledger.save(AccessRequest._create(kind, id=uuid4(), **fields))
    else:
        aggregate = ledger.repository.get(aggregate_id)
        aggregate.trigger_event(kind, **fields)
        ledger.save(aggregate)
    return int(ledger.recorder.max_notification_id())


def test_events_holding_nul_in_plain_text_are_projected_and_every_read_model_reaches_the_head(
    durable_stores: Stores, durable_settings: Settings, clock: MovableClock
) -> None:
    stores = durable_stores
    side = start_read_side(stores, durable_settings, run_projections=False, clock=clock)
    tenant, request = _granted(stores)
    stores.ledger.use_access(request, "staff-1", "orders/1", "read")
    _again_with(stores, request, AccessRequest.Requested, ticket="SUP-\x00-1")
    head = _again_with(stores, request, AccessRequest.AccessRecorded, resource="orders/\x00/2")

    side.runner.catch_up()

    assert side.runner.failures() == []
    assert set(side.runner.positions().values()) == {head}
    assert side.read_models.position() == head
    resources = [e["resource"] for e in side.read_models.access_log(tenant)["items"]]
    assert resources == ["orders/\\u0000/2", "orders/1"], "NUL kept as a visible escape"
    tickets = {r["ticket"] for r in side.read_models.access_requests(tenant_id=tenant)["items"]}
    assert tickets == {None, "SUP-\\u0000-1"}
    report = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
    assert report.ok, [d.describe() for d in report.differences]


def _one_stopped_read_model(stores: Stores) -> tuple[int, int, UUID, int]:
    """access_log made to fail, then events for it and for the others. Returns the position
    of the access it cannot apply, that event's version, the request, and the head."""
    tenant, request = _granted(stores)
    break_inserts(stores.db, "access_log")
    failing = stores.ledger.use_access(request, "staff-1", "orders/1", "read").position
    version = stores.ledger.access_request(request).version
    stores.ledger.use_access(request, "staff-1", "orders/2", "read")
    subject = stores.ledger.register_subject("Ann", "ann@example.org", "app", tenant).aggregate.id
    head = stores.ledger.give_consent(subject, "info_mail", "web_form", "v1", "app").position
    return failing, version, request, head


def _assert_names_the_failure(text: str, failing: int, version: int, request: UUID) -> None:
    said = " ".join(text.split())  # rich wraps long lines
    assert "access_log" in said
    assert f"event {failing} ({ACCESS_RECORDED}, originator {request}, version {version})" in said
    assert "boom" in said


def test_a_read_model_that_cannot_apply_an_event_stops_alone_says_so_and_resumes_when_mended(
    cli_stores: Stores, cli_settings: Settings, clock: MovableClock
) -> None:
    stores = cli_stores
    side = start_read_side(stores, cli_settings, run_projections=False, clock=clock)
    failing, version, request, head = _one_stopped_read_model(stores)

    side.runner.catch_up()

    [failure] = side.runner.failures()
    assert failure.name == "access_log"
    assert (failure.position, failure.topic) == (failing, ACCESS_RECORDED)
    assert (failure.originator_id, failure.originator_version) == (str(request), version)
    assert failure.error_type in ("IntegrityError", "RaiseException")
    assert "boom" in failure.error_message
    positions = side.runner.positions()
    assert positions.pop("access_log") == failing - 1, "everything before the event is applied"
    assert set(positions.values()) == {head}, "the other read models reach the head"
    assert side.read_models.position() == head == side.runner.position()
    assert "access_log" not in side.read_models.positions()
    assert side.read_models.wait_for(head, timeout=1)
    assert side.runner.catch_up() == 0, "the stopped read model is skipped, not retried"

    result = CliRunner().invoke(cli, ["projections", "status"])
    assert result.exit_code == 1, result.output
    _assert_names_the_failure(result.output, failing, version, request)

    mend(stores.db, "access_log")
    side.runner.start()  # a runner starting again (a deploy with the fix) retries it
    try:
        _eventually(lambda: side.runner.positions()["access_log"] == head)
    finally:
        side.stop()
    assert side.runner.failures() == []
    entries = side.read_models.access_log(_tenant_of(side, request))["items"]
    resources = {e["resource"] for e in entries}
    assert resources == {"orders/1", "orders/2"}
    assert CliRunner().invoke(cli, ["projections", "status"]).exit_code == 0


def _tenant_of(side: Any, request: UUID) -> str:
    return side.read_models.access_request(request)["tenant_id"]


def test_a_rebuild_of_a_stopped_read_model_tries_it_again(
    durable_stores: Stores, durable_settings: Settings, clock: MovableClock
) -> None:
    stores = durable_stores
    side = start_read_side(stores, durable_settings, run_projections=False, clock=clock)
    _, _, _, head = _one_stopped_read_model(stores)
    side.runner.catch_up()
    assert [f.name for f in side.runner.failures()] == ["access_log"]

    mend(stores.db, "access_log")
    access_log = [p for p in side.runner.projections if p.name == "access_log"]
    rebuild(stores.ledger, stores.db, access_log)

    assert side.runner.failures() == []
    assert set(side.runner.positions().values()) == {head}


def test_an_event_that_does_not_decode_stops_only_the_read_models_it_goes_to(
    durable_stores: Stores, durable_settings: Settings, clock: MovableClock
) -> None:
    stores = durable_stores
    side = start_read_side(stores, durable_settings, run_projections=False, clock=clock)
    tenant, request = _granted(stores)
    tampered = stores.ledger.use_access(request, "staff-1", "orders/1", "read").position
    head = stores.ledger.register_subject("Ann", "ann@example.org", "app", tenant).position
    table, key = ("ledger_events", "notification_id") if stores.db.dialect == "postgresql" else (
        "stored_events", "rowid")
    stores.db.execute(
        f"UPDATE {table} SET state = %s WHERE {key} = %s", (b"not an event", tampered)
    )

    side.runner.catch_up()

    stopped = {f.name: f.position for f in side.runner.failures()}
    assert stopped == {"access_log": tampered, "access_requests": tampered}
    assert {name: p for name, p in side.runner.positions().items() if name not in stopped} == {
        name: head for name in side.runner.names if name not in stopped
    }


def test_two_runners_racing_past_a_read_model_that_fails_apply_each_event_once(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    writer = open_stores(settings, clock=clock)
    others = [open_stores(settings, clock=clock) for _ in range(2)]
    try:
        sides = [start_read_side(s, settings, run_projections=False, clock=clock) for s in others]
        failing, _, request, _ = _one_stopped_read_model(writer)
        for n in range(30):
            writer.ledger.use_access(request, "staff-1", f"orders/{n + 10}", "read")
            writer.ledger.register_subject(f"P{n}", f"p{n}@example.org", "app")
        head = int(writer.ledger.recorder.max_notification_id())
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
        stopped = [(f.name, f.position) for f in sides[0].runner.failures()]
        assert stopped == [("access_log", failing)]
        assert sides[1].read_models.position() == head
        report = check(writer.ledger, writer.db, writer.keys, sides[0].runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
    finally:
        for opened in [writer, *others]:
            opened.close()


def test_healthz_names_a_stopped_read_model_and_is_healthy_again_after_a_restart_with_the_fix(
    durable_settings: Settings, clock: MovableClock
) -> None:
    settings = durable_settings.model_copy(update={"poll_interval_ms": 10})
    with TestClient(create_app(settings, clock=clock)) as client:
        stores = client.app.state.stores  # type: ignore[attr-defined]
        failing, version, request, head = _one_stopped_read_model(stores)
        names = ("access_log",)
        _eventually(lambda: failures.failures(stores.db, names) != [])
        assert client.app.state.read.wait_for(head, 10)  # type: ignore[attr-defined]

        answer = client.get("/healthz")

        assert answer.status_code == 503
        assert answer.headers["content-type"].startswith("application/problem+json")
        _assert_names_the_failure(answer.json()["detail"], failing, version, request)
        mend(stores.db, "access_log")
        assert client.get("/healthz").status_code == 503, "stopped until a runner starts again"

    with TestClient(create_app(settings, clock=clock)) as client:  # a restart: retried
        _eventually(lambda: client.get("/healthz").status_code == 200)
        read = client.app.state.read  # type: ignore[attr-defined]
        assert read.wait_for(head, 10)
        tenant = read.access_request(request)["tenant_id"]
        assert len(read.access_log(tenant)["items"]) == 2


def _eventually(condition: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.02)
