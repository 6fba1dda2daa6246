"""/metrics from real processes on PostgreSQL: `ledger worker` on its metrics port, the
projection lag an API process shows while the worker is stopped and after it resumes, `ledger
serve --workers 2` counting every request whichever worker is scraped, and a store that stops
answering shown as a figure, never as an error."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from projections.read_models.all_read_models import READ_MODEL_NAMES
from tests.prometheus_scrape import Scrape
from tests.reliability.conftest import LedgerProcess, LedgerProcesses, free_port, wait_until
from tests.reliability.throwaway_postgres import ThrowawayPostgres

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-for-the-process-tests-0123"
GUARDED = {"LEDGER_METRICS_TOKEN": TOKEN}


def scrape_api(process: LedgerProcess) -> Scrape:
    # A client each time: a connection of its own, so any worker of the port may answer.
    answer = httpx.get(f"{process.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                       timeout=10)
    assert answer.status_code == 200, answer.text
    return Scrape(answer.text)


def scrape_port(port: int) -> Scrape | None:
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    except httpx.TransportError:
        return None  # not listening yet
    assert answer.status_code == 200, answer.text
    return Scrape(answer.text)


def lag(scrape: Scrape) -> dict[str, float | None]:
    return {name: scrape.value("ledger_projection_lag_positions", read_model=name)
            for name in READ_MODEL_NAMES}


def test_projection_lag_rises_while_the_worker_is_stopped_and_falls_when_it_resumes(
    ledger_processes: LedgerProcesses, pg_url: str
) -> None:
    procs = ledger_processes
    procs.prepare(pg_url)
    api = procs.serve("api", pg_url, LEDGER_RUN_WORKERS="false", **GUARDED)
    worker_port = free_port()
    worker = procs.worker("worker", pg_url, LEDGER_METRICS_PORT=str(worker_port))
    procs.wait_healthy(api)
    officer = api.client(procs.token("officer", "olga"))
    first = officer.post("/v1/tenants", json={"name": "Tenant 0"}).json()["position"]

    def caught_up(scrape: Scrape | None) -> Scrape | None:
        done = scrape is not None and all(behind == 0 for behind in lag(scrape).values()) and (
            scrape.value("ledger_unsealed_positions") == 0)
        return scrape if done else None

    # The worker's own port, without a token: the projections it applies and the sealer's.
    shown = wait_until(lambda: caught_up(scrape_port(worker_port)), "the worker to catch up",
                       context=procs.logs)
    assert shown.value("ledger_projection_position", read_model="tenants") >= first
    assert worker.stop(), worker.log()

    for number in range(1, 6):
        last = officer.post("/v1/tenants", json={"name": f"Tenant {number}"}).json()["position"]
    behind = scrape_api(api)
    for name, positions in lag(behind).items():
        assert positions is not None and positions >= 5, (name, behind.text)
        assert behind.value("ledger_projection_lag_seconds", read_model=name) > 0, name
    assert behind.value("ledger_unsealed_positions") >= 5
    assert behind.value("ledger_oldest_unsealed_event_age_seconds") > 0
    assert behind.value("ledger_log_head_position") >= last

    procs.worker("worker-again", pg_url, LEDGER_METRICS_PORT=str(free_port()))
    resumed = wait_until(lambda: caught_up(scrape_api(api)), "the lag to fall back to 0",
                         context=procs.logs)
    for name in READ_MODEL_NAMES:
        assert resumed.value("ledger_projection_lag_seconds", read_model=name) == 0, name
    assert resumed.value("ledger_oldest_unsealed_event_age_seconds") == 0
    assert httpx.get(f"{api.url}/metrics", timeout=10).status_code == 401


@pytest.mark.parametrize("directory", ["made by serve", "the operator's"])
def test_serve_workers_count_every_request_whichever_worker_answers_the_scrape(
    ledger_processes: LedgerProcesses, pg_url: str, tmp_path: Path, directory: str
) -> None:
    procs = ledger_processes
    procs.prepare(pg_url)
    shared = tmp_path / "prometheus"  # the operator's own directory: emptied at start
    shared.mkdir()
    (shared / "counter_99999999.db").write_bytes(b"an earlier run's counts")
    given = {"PROMETHEUS_MULTIPROC_DIR": str(shared)} if directory == "the operator's" else {}
    metrics_port = free_port()
    server = procs.serve(
        "api", pg_url, "--workers", "2", LEDGER_METRICS_PORT=str(metrics_port), **given,
        **GUARDED,
    )
    procs.wait_healthy(server)
    assert (shared / "counter_99999999.db").exists() is not bool(given)
    route = {"method": "GET", "route": "/healthz", "status": "200"}
    before = scrape_api(server).total("ledger_http_requests_total", **route)

    sent = 60
    for _ in range(sent):  # a connection each: the kernel spreads them over both workers
        assert httpx.get(f"{server.url}/healthz", timeout=10).status_code == 200

    if given:
        counting = {path.stem.rsplit("_", 1)[1] for path in shared.glob("counter_*.db")}
        assert len(counting) == 2, counting  # both workers answered some
    for _ in range(8):  # whichever worker answers, it answers for both
        counted = scrape_api(server).total("ledger_http_requests_total", **route)
        assert counted - before == sent
    # The parent's port sums the same files, without a token.
    parent = scrape_port(metrics_port)
    assert parent is not None and parent.total("ledger_http_requests_total", **route) >= before + sent
    assert parent.value("ledger_store_up") == 1
    assert server.stop(), server.log()[-3000:]


def test_a_store_that_stops_answering_is_a_figure_not_an_error(
    throwaway_postgres: ThrowawayPostgres, ledger_processes: LedgerProcesses
) -> None:
    pg, procs = throwaway_postgres, ledger_processes
    procs.prepare(pg.url)
    metrics_port = free_port()
    api = procs.serve("api", pg.url, LEDGER_METRICS_PORT=str(metrics_port), **GUARDED)
    procs.wait_healthy(api)
    assert scrape_api(api).value("ledger_store_up") == 1

    pg.stop()

    def store_down(scrape: Scrape | None) -> Scrape | None:
        # A scrape within a second of the last one is answered from what that one read.
        return scrape if scrape is not None and scrape.value("ledger_store_up") == 0 else None

    for down in (wait_until(lambda: store_down(scrape_api(api)), "the API to say so"),
                 wait_until(lambda: store_down(scrape_port(metrics_port)), "the port to say so")):
        assert not any(name.startswith(("ledger_projection", "ledger_checkpoint", "ledger_outbox"))
                       for name in down.families), down.text
        assert "ledger_http_requests" in down.families  # what the process counted itself

    pg.start()
    wait_until(lambda: scrape_api(api).value("ledger_store_up") == 1, "the store to answer again",
               context=procs.logs)
