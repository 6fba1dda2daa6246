"""Several processes on one PostgreSQL: two `ledger serve` (API only) and two `ledger worker`.

Writes go through both APIs and each is read back through the other with `min_position`;
exactly one worker holds the sealer's advisory lock; SIGKILL it and the other takes over (new
events get sealed and signed, the read models keep up); `ledger verify` holds at the end. And
processes that all start at the same moment on one database all come up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api import keyfiles
from api.bootstrap import open_stores
from projections.read_models.runner import group_lock_key
from projections.merkle_log.sealer import SEALER_LOCK_KEY
from tests.conftest import make_settings
from tests.reliability.conftest import LedgerProcesses, conninfo, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TAKEOVER_SECONDS = 15.0
STARTING_TOGETHER, ROUNDS = 6, 3


def lock_holders(database_url: str, key: int) -> list[str]:
    """The application_name of every session holding this advisory lock (one at most)."""
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s "
            "AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        ).fetchall()
    return [row[0] for row in rows]


def open_tenant(api: httpx.Client, name: str) -> dict[str, Any]:
    response = api.post("/v1/tenants", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()


def read_back(api: httpx.Client, written: dict[str, Any], name: str) -> None:
    response = api.get(f"/v1/tenants/{written['id']}", params={"min_position": written["position"]})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name


def tenant_ids(api: httpx.Client, min_position: int) -> set[str]:
    response = api.get("/v1/tenants", params={"limit": 1000, "min_position": min_position})
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_two_api_processes_and_two_workers_share_one_database_and_a_killed_sealer_is_replaced(
    pg_url: str, ledger_processes: LedgerProcesses
) -> None:
    procs = ledger_processes
    procs.prepare(pg_url)
    apis = [procs.serve(name, pg_url, LEDGER_RUN_WORKERS="false") for name in ("api-a", "api-b")]
    workers = {name: procs.worker(name, pg_url) for name in ("worker-1", "worker-2")}
    procs.wait_healthy(*apis)
    officer = procs.token("officer", "olga")
    auditor = procs.token("auditor", "ada")
    clients = [api.client(officer) for api in apis]
    audit = apis[1].client(auditor)

    # Writes through both APIs; each is read back through the other one.
    written: list[dict[str, Any]] = []
    for number in range(10):
        name = f"Tenant {number} B.V."
        through, other = clients[number % 2], clients[(number + 1) % 2]
        written.append(open_tenant(through, name))
        read_back(other, written[-1], name)
    head = max(w["position"] for w in written)
    expected = {w["id"] for w in written}
    assert tenant_ids(clients[0], head) == tenant_ids(clients[1], head) == expected

    # One sealer: exactly one worker holds the lock, and what it signs covers every write.
    holder = wait_until(lambda: lock_holders(pg_url, SEALER_LOCK_KEY), "a sealer to take the lock",
                        context=procs.logs)
    assert len(holder) == 1 and holder[0] in workers, holder
    sealer = holder[0]
    checkpoint = audit.get("/v1/audit/checkpoint", params={"min_position": head})
    assert checkpoint.status_code == 200, checkpoint.text
    signed_before = checkpoint.json()["tree_size"]
    assert signed_before >= len(written)

    # SIGKILL the active sealer: the other worker takes over within seconds.
    workers[sealer].kill()
    survivor = next(name for name in workers if name != sealer)
    after = [open_tenant(clients[n % 2], f"Later {n} B.V.") for n in range(6)]
    new_head = max(w["position"] for w in after)
    wait_until(lambda: lock_holders(pg_url, SEALER_LOCK_KEY) == [survivor],
               f"{survivor} to take the sealer lock", TAKEOVER_SECONDS, context=procs.logs)

    def signed_new_events() -> bool:
        answer = audit.get("/v1/audit/checkpoint", params={"min_position": new_head})
        return answer.status_code == 200 and answer.json()["tree_size"] >= signed_before + len(after)

    wait_until(signed_new_events, "a checkpoint covering the events written after the kill",
               TAKEOVER_SECONDS, context=procs.logs)
    # The read models go on too (the killed worker may have been applying them as well).
    for number, one in enumerate(after):
        read_back(clients[(number + 1) % 2], one, f"Later {number} B.V.")
    assert lock_holders(pg_url, group_lock_key("read_models")) == [survivor]
    assert tenant_ids(clients[0], new_head) == expected | {w["id"] for w in after}

    for process in (*apis, workers[survivor]):
        assert process.stop(), process.log()[-3000:]
    for client in (*clients, audit):
        client.close()
    verified = procs.cli(pg_url, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK" in verified.stdout


def test_processes_starting_at_the_same_moment_on_one_database_all_start(
    pg_url: str, tmp_path: Path
) -> None:
    """What a deploy or `ledger serve --workers N` does: every process opens the stores (and
    so creates the event store's schema if missing) at once. Each thread here opens its own
    stores, with its own connections, as a process would."""
    settings = make_settings(pg_url, tmp_path / "var")
    keyfiles.ensure_all(settings)
    open_stores(settings).close()  # `ledger init`
    failures: list[str] = []

    def start(barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            open_stores(settings).close()
        except Exception as error:  # what would end that process at start
            failures.append(f"{type(error).__name__}: {error}")

    for _ in range(ROUNDS):
        barrier = threading.Barrier(STARTING_TOGETHER)
        threads = [threading.Thread(target=start, args=(barrier,)) for _ in range(STARTING_TOGETHER)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
