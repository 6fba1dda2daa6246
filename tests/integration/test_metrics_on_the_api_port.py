"""GET /metrics on the API's port (api/metrics/): only for the holder of LEDGER_METRICS_TOKEN,
parsed by prometheus-client's own parser, requests counted by their route's template, and the
figures an operator watches read from the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.http.problems import MEDIA_TYPE
from domain.clock import MovableClock
from projections.read_models.all_read_models import READ_MODEL_NAMES
from tests.conftest import make_settings
from tests.e2e.conftest import Api, created, ok, open_api
from tests.prometheus_scrape import Scrape
from tests.reliability.conftest import wait_until

TOKEN = "metrics-token-for-the-tests-0123456789"
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket 17", "duration_minutes": 60}


def _settings(database_url: str, tmp_path: Path, **overrides: Any) -> Any:
    return make_settings(database_url, tmp_path / "var", poll_interval_ms=10, **overrides)


@pytest.fixture
def watched_api(tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    settings = _settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path, metrics_token=TOKEN)
    yield from open_api(settings, clock)


def scrape(api: Api) -> Scrape:
    answer = api.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return Scrape(answer.text)


def test_metrics_answer_only_to_the_metrics_token(watched_api: Api) -> None:
    api = watched_api
    for headers in ({}, {"Authorization": "Bearer not-the-token"},
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
                    {"Authorization": api.user("officer", "olga").headers["Authorization"]}):
        refused = api.client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["content-type"] == MEDIA_TYPE
        assert refused.json()["status"] == 401 and "ledger_" not in refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert "ledger_store_up" in scrape(api).families
    assert "/metrics" not in api.app.openapi()["paths"]


def test_without_a_metrics_token_the_api_port_serves_no_metrics(
    tmp_path: Path, clock: MovableClock
) -> None:
    for api in open_api(_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path), clock):
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
            answer = api.client.get("/metrics", headers=headers)
            assert answer.status_code == 404 and answer.headers["content-type"] == MEDIA_TYPE


def test_a_request_is_counted_under_its_route_template_and_status(watched_api: Api) -> None:
    api = watched_api
    officer = api.user("officer", "olga")
    route = "/v1/tenants/{tenant_id}"
    before = scrape(api)
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))
    ok(officer.get(f"/v1/tenants/{tenant['id']}", params={"min_position": tenant["position"]}))
    ok(officer.get(f"/v1/tenants/{tenant['id']}"))
    assert officer.get("/v1/tenants/0b3c3d1e-0000-4000-8000-000000000000").status_code == 404
    assert api.client.get(f"/no/such/{tenant['id']}").status_code == 404
    after = scrape(api)

    def more(method: str, template: str, status: str) -> float:
        labels = {"method": method, "route": template, "status": status}
        return after.total("ledger_http_requests_total", **labels) - before.total(
            "ledger_http_requests_total", **labels)

    assert more("POST", "/v1/tenants", "201") == 1
    assert more("GET", route, "200") == 2
    assert more("GET", route, "404") == 1
    assert more("GET", "unmatched", "404") == 1
    timed = {"method": "GET", "route": route, "status": "200"}
    assert after.total("ledger_http_request_duration_seconds_count", **timed) - before.total(
        "ledger_http_request_duration_seconds_count", **timed) == 2
    assert tenant["id"] not in after.text  # templates, never paths
    assert not any(path.startswith("/no/") for path in after.labels_of(
        "ledger_http_requests_total", "route"))


@pytest.fixture
def busy_api(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """On SQLite and PostgreSQL, with a webhook receiver on loopback that refuses every
    connection (port 9, discard, has no listener), so deliveries fail and are retried."""
    settings = _settings(
        durable_database_url, tmp_path, metrics_token=TOKEN, sweep_interval_seconds=0.2,
        webhook_allowed_hosts=["127.0.0.1"], outbox_interval_seconds=0.05,
    )
    yield from open_api(settings, MovableClock())


def test_metrics_show_every_figure_an_operator_watches(busy_api: Api) -> None:
    api = busy_api
    before = scrape(api)
    officer, staff = api.user("officer", "olga"), api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    created(api.user("customer", "carla", tenant).post("/v1/webhooks", json={
        "url": "http://127.0.0.1:9/hooks", "types": ["access.requested"]}))
    asked = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ACCESS))
    api.caught_up(asked["position"])

    def settled() -> Scrape | None:
        now = scrape(api)
        done = (
            (now.value("ledger_checkpoint_tree_size") or 0) >= asked["position"]
            and now.value("ledger_outbox_failing_deliveries", channel="webhook") == 1
            and now.total("ledger_sweep_runs_total") > before.total("ledger_sweep_runs_total")
        )
        return now if done else None

    now = wait_until(settled, "a checkpoint, a failing delivery and a sweep run", timeout=30)
    assert now.value("ledger_store_up") == 1
    assert now.value("ledger_log_head_position") >= asked["position"]
    for name in READ_MODEL_NAMES:
        assert now.value("ledger_projection_lag_positions", read_model=name) == 0, name
        assert now.value("ledger_projection_lag_seconds", read_model=name) == 0, name
        assert now.value("ledger_projection_position", read_model=name) >= asked["position"]
        assert now.value("ledger_projection_stopped", read_model=name) == 0, name
    assert now.value("ledger_oldest_unsealed_event_age_seconds") is not None
    assert now.value("ledger_checkpoint_timestamp_seconds") > 0
    assert now.value("ledger_checkpoint_age_seconds") >= 0
    assert now.value("ledger_outbox_queue_depth", channel="webhook") == 1
    assert now.value("ledger_outbox_queue_depth", channel="email") == 0
    assert now.value("ledger_outbox_failed_deliveries", channel="webhook", status="expired") == 0
    assert now.value("ledger_outbox_notices_waiting") == 0
    assert now.value("ledger_key_epoch") == 1
    assert now.value("ledger_key_epoch_age_seconds") >= 0
    writes = now.total("ledger_write_batch_saves_sum") - before.total("ledger_write_batch_saves_sum")
    assert writes >= 2  # the tenant and the access request (the subscription is no event)
    assert now.total("ledger_write_commit_seconds_count") > before.total(
        "ledger_write_commit_seconds_count")
    assert now.total("ledger_write_batch_events_sum") > before.total("ledger_write_batch_events_sum")


def test_every_save_of_concurrent_writers_is_counted_once_in_the_batches(busy_api: Api) -> None:
    api = busy_api
    system = api.user("system", "crm")
    writers = 16
    subjects = [
        created(system.post("/v1/subjects", json={
            "name": f"Person {n}", "email": f"person{n}@example.org"}))["id"]
        for n in range(writers)
    ]
    before = scrape(api)
    start = threading.Barrier(writers)
    answers: list[int] = []

    def consent(number: int) -> None:
        start.wait()
        answers.append(system.put(f"/v1/subjects/{subjects[number]}/consents/info_mail", json={
            "status": "given", "channel": "email", "notice_version": "2026-01",
            "method": "web_form"}).status_code)

    threads = [threading.Thread(target=consent, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * writers
    after = scrape(api)
    saves = after.total("ledger_write_batch_saves_sum") - before.total("ledger_write_batch_saves_sum")
    transactions = after.total("ledger_write_batch_saves_count") - before.total(
        "ledger_write_batch_saves_count")
    # Every save in exactly one committed transaction; the sweep may have written besides.
    assert saves >= writers and 1 <= transactions <= saves


def test_the_metrics_hold_no_personal_data(watched_api: Api) -> None:
    api = watched_api
    system, officer = api.user("system", "crm"), api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Wilhelmina Hoeve B.V."}))["id"]
    subject = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Jan Jansen", "email": "jan.jansen@example.org",
        "phone": "+31612345678"}))
    found = officer.get("/v1/subjects", params={
        "email": "jan.jansen@example.org", "min_position": subject["position"]})
    assert found.status_code == 200, found.text
    text = scrape(api).text
    for personal in ("Jan Jansen", "jan.jansen", "example.org", "+31612345678", "Wilhelmina",
                     subject["id"], tenant, TOKEN):
        assert personal not in text, personal


def test_without_group_commit_each_write_is_a_batch_of_one(
    tmp_path: Path, clock: MovableClock
) -> None:
    settings = _settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path, metrics_token=TOKEN,
                         group_commit=False)
    for api in open_api(settings, clock):
        before = scrape(api)
        for number in range(3):
            created(api.user("officer", "olga").post("/v1/tenants", json={"name": f"T{number}"}))
        after = scrape(api)
        for sample in ("ledger_write_batch_saves_count", "ledger_write_batch_saves_sum",
                       "ledger_write_commit_seconds_count"):
            assert after.total(sample) - before.total(sample) == 3, sample
        ones = after.value("ledger_write_batch_saves_bucket", le="1.0") - before.value(
            "ledger_write_batch_saves_bucket", le="1.0")
        assert ones == 3
