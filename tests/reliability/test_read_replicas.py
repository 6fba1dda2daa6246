"""Read replicas (docs/deploy.md §6): a real streaming replica made by the test, processes that
read from it, and a `--read-only` process that opens nothing for writing.

- a read-only process on the replica answers every GET route of the authorization matrix as the
  primary's process does, but for the reads the ledger records (those it refuses with a 503
  that says why, and nothing is written);
- a writing process reads from the replica: a stale answer shows it, `min_position` of a fresh
  write is honoured, and when the replica lags or stops, reads go to the primary or answer 503
  with Retry-After as LEDGER_READ_FALLBACK says; never a 500;
- a read-only process refuses writes before anything is read, and on a store without a ledger
  it refuses to start and creates no table.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
import pytest

from api.bootstrap import open_stores
from api.http.store_errors import READ_ONLY_DETAIL
from tests.conftest import _conninfo
from tests.e2e.conftest import Scene
from tests.e2e.test_authorization_matrix import MATRIX, ROLES
from tests.prometheus_scrape import Scrape
from tests.reliability.conftest import LedgerProcess, LedgerProcesses, wait_until
from tests.reliability.streaming_replica import Replicated, replicated  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

# Asked as the first of these that may: the vendor's own people first, whose reads are recorded.
ACTORS = {
    "officer": ("olga", "officer", None), "auditor": ("aude", "auditor", None),
    "customer_own": ("carla", "customer", "T"), "staff": ("sam", "staff", None),
    "system": ("crm", "system", None), "witness": ("wanda", "witness", None),
}
# The GETs that record who read what (a subject's personal data, their history and export):
# a read-only process cannot record them, so it refuses them rather than answer unrecorded.
RECORDED_READS = {
    "/v1/subjects/{S}?reason=matrix",
    "/v1/subjects/{S}/history?reason=matrix",
    "/v1/subjects/{S}/export?format=json&reason=matrix",
}


def token(processes: LedgerProcesses, role: str, scene: Scene) -> dict[str, str]:
    actor, kind, tenant = ACTORS[role]
    minted = processes.token(kind, actor, tenant=scene.ids[tenant] if tenant else None)
    return {"Authorization": f"Bearer {minted}"}


def gets_a_role_may_ask(scene: Scene) -> list[tuple[str, str, str]]:
    """(matrix path, filled URL, role) for each GET of the matrix whose placeholders the scene
    fills, asked as the first role that gets a 200 there."""
    asked = []
    for method, path, _, statuses in MATRIX:
        if method != "GET":
            continue
        try:
            filled = scene.fill(path)
        except KeyError:
            continue  # a thing the scene does not make (webhooks, links)
        by_role = dict(zip(ROLES, statuses.split()))
        role = next((r for r in ACTORS if by_role.get(r) == "200"), None)
        if role is not None:
            asked.append((path, filled, role))
    return asked


def answer(process: LedgerProcess, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    response = httpx.get(f"{process.url}{url}", headers=headers, timeout=30)
    kind = response.headers.get("content-type", "")
    return response.status_code, response.json() if "json" in kind else response.text


def test_a_read_only_process_on_the_replica_answers_every_get_as_the_primary_does(
    ledger_processes: LedgerProcesses, replicated: Replicated  # noqa: F811
) -> None:
    primary, replica = replicated.primary.url, replicated.replica.url
    settings = ledger_processes.prepare(primary)
    writer = ledger_processes.serve("writer", primary)
    stores = open_stores(settings)
    try:
        scene = Scene.build(stores.ledger)
    finally:
        stores.close()
    officer = {"Authorization": f"Bearer {ledger_processes.token('officer', 'olga')}"}
    auditor = {"Authorization": f"Bearer {ledger_processes.token('auditor', 'aude')}"}
    ledger_processes.wait_healthy(writer)
    assert answer(writer, f"/v1/tenants?min_position={scene.position}", officer)[0] == 200
    wait_until(  # every event sealed, so both see the same log
        lambda: answer(writer, "/v1/audit/checkpoint", auditor)[1].get("tree_size", 0)
        >= scene.position, "a checkpoint over the whole scene", timeout=30,
    )
    replicated.caught_up()
    reader = ledger_processes.serve("reader", replica, "--read-only")
    ledger_processes.wait_healthy(reader)

    asked = gets_a_role_may_ask(scene)
    assert len(asked) >= 25, asked
    from_reader = {}
    for path, url, role in asked:
        from_reader[path] = answer(reader, url, token(ledger_processes, role, scene))
    refused = {
        path for path, (status, body) in from_reader.items()
        if status == 503 and isinstance(body, dict) and body.get("detail") == READ_ONLY_DETAIL
    }
    assert refused == RECORDED_READS, {path: from_reader[path] for path in RECORDED_READS}
    for path, url, role in asked:
        if path in refused:
            continue
        assert from_reader[path] == answer(writer, url, token(ledger_processes, role, scene)), path
    # The refused reads wrote nothing: the primary holds no event beyond the scene's.
    assert answer(writer, "/v1/audit/checkpoint", auditor)[1]["tree_size"] == scene.position


METRICS_TOKEN = "metrics-token-for-the-replica-test"


def replica_read(process: LedgerProcess) -> float | None:
    """What the process's metrics say of its one replica: 1 read, 0 not."""
    scraped = Scrape(httpx.get(f"{process.url}/metrics", timeout=30,
                               headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text)
    values = [value for (name, _), value in scraped.samples.items()
              if name == "ledger_read_replica_readable"]
    assert len(values) == 1, scraped.text
    return values[0]


def write_tenant(process: LedgerProcess, headers: dict[str, str], name: str) -> dict[str, Any]:
    response = httpx.post(f"{process.url}/v1/tenants", json={"name": name}, headers=headers,
                          timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def tenant_names(process: LedgerProcess, headers: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{process.url}/v1/tenants", params={"limit": 500, **params},
                     headers=headers, timeout=30)


def names(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {tenant["name"] for tenant in response.json()["items"]}


def test_reads_come_from_the_replica_and_fall_back_as_configured_when_it_lags_or_stops(
    ledger_processes: LedgerProcesses, replicated: Replicated  # noqa: F811
) -> None:
    primary, replica = replicated.primary.url, replicated.replica.url
    ledger_processes.prepare(primary)
    reading = dict(LEDGER_READ_DATABASE_URL=replica, LEDGER_READ_WAIT_SECONDS="1",
                   LEDGER_READ_MAX_LAG_SECONDS="4")
    falls_back = ledger_processes.serve("falls-back", primary, **reading)
    refuses = ledger_processes.serve(
        "refuses", primary, LEDGER_READ_FALLBACK="unavailable", LEDGER_RUN_WORKERS="false",
        LEDGER_METRICS_TOKEN=METRICS_TOKEN, **reading,
    )
    ledger_processes.wait_healthy(falls_back, refuses)
    officer = {"Authorization": f"Bearer {ledger_processes.token('officer', 'olga')}"}

    # A fresh write is read back from the replica with its position.
    first = write_tenant(falls_back, officer, "First")
    for process in (falls_back, refuses):
        assert "First" in names(tenant_names(process, officer, min_position=first["position"]))
    assert replica_read(refuses) == 1.0

    # Replay paused: the replica answers what it has, until it is too far behind.
    replicated.caught_up()
    replicated.pause_replay()
    paused_at = time.monotonic()
    second = write_tenant(falls_back, officer, "Second")
    wait_until(lambda: "Second" in names(tenant_names(
        falls_back, officer, min_position=second["position"])), "the primary's read models")
    assert time.monotonic() - paused_at < 4, "too slow to see the replica's stale answer"
    assert "Second" not in names(tenant_names(refuses, officer)), "not read from the replica"
    waited = tenant_names(refuses, officer, min_position=second["position"])
    assert waited.status_code == 503 and waited.headers["Retry-After"], waited.text

    # Too far behind: the primary answers, or 503 with Retry-After.
    time.sleep(max(0.0, 4.5 - (time.monotonic() - paused_at)))
    wait_until(lambda: tenant_names(refuses, officer).status_code == 503,
               "the lagging replica to be left alone")
    assert "Second" in names(tenant_names(falls_back, officer))
    replicated.resume_replay()
    wait_until(lambda: tenant_names(refuses, officer).status_code == 200, "the replica again")
    assert "Second" in names(tenant_names(refuses, officer))

    # The replica stopped: the same two behaviours, never a 500.
    reader = ledger_processes.serve("reader", replica, "--read-only")
    ledger_processes.wait_healthy(reader)
    replicated.replica.stop("fast")
    wait_until(lambda: tenant_names(refuses, officer).status_code == 503, "the stopped replica")
    stopped = tenant_names(refuses, officer)
    assert stopped.headers["Retry-After"] and stopped.json()["status"] == 503
    assert replica_read(refuses) == 0.0  # operators see it too
    assert "Second" in names(tenant_names(falls_back, officer))
    third = write_tenant(falls_back, officer, "Third")  # writes go on without the replica
    assert "Third" in names(tenant_names(falls_back, officer, min_position=third["position"]))
    for url in ("/healthz", "/v1/tenants", "/v1/log/checkpoint"):
        status = httpx.get(f"{reader.url}{url}", headers=officer, timeout=30).status_code
        assert status == 503, url
    # Back again: read from it once more.
    replicated.replica.start()
    def third_on_the_replica() -> bool:
        answered = tenant_names(refuses, officer)
        return answered.status_code == 200 and "Third" in names(answered)

    wait_until(third_on_the_replica, "the restarted replica", timeout=30)


def test_a_read_only_process_takes_no_write_and_makes_no_table(
    ledger_processes: LedgerProcesses, replicated: Replicated, pg_url: str  # noqa: F811
) -> None:
    primary = replicated.primary.url
    ledger_processes.prepare(primary)
    # Pointed at the primary itself: its sessions cannot write there either.
    reader = ledger_processes.serve("reader", primary, "--read-only")
    ledger_processes.wait_healthy(reader)
    officer = {"Authorization": f"Bearer {ledger_processes.token('officer', 'olga')}"}
    refused = httpx.post(f"{reader.url}/v1/tenants", json={"name": "Nope"}, headers=officer)
    assert refused.status_code == 503 and refused.json()["detail"] == READ_ONLY_DETAIL
    assert names(tenant_names(reader, officer)) == set()
    with psycopg.connect(_conninfo(primary), autocommit=True) as conn:
        sessions = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'reader'"
        ).fetchone()
    assert sessions and sessions[0] > 0  # it does hold connections there, read-only ones

    # A store without a ledger: it says what to do, and leaves the store as it found it.
    empty = ledger_processes.cli(pg_url, "serve", "--read-only", "--port", "1")
    assert empty.returncode == 2, empty.stdout + empty.stderr
    assert "ledger init" in empty.stdout + empty.stderr
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)
    # SQLite has no replicas: said at once, nothing served.
    on_sqlite = ledger_processes.cli(f"sqlite:///{ledger_processes.base}/x.sqlite", "serve",
                                     "--read-only", "--port", "1")
    assert on_sqlite.returncode == 2 and "needs PostgreSQL" in on_sqlite.stdout + on_sqlite.stderr
