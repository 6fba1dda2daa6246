"""`ledger serve --workers N`: every worker listens on a socket of its own on the one port
(api/cli/serve.py), so connections spread over them, and the port is still guarded against a
second server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.reliability.conftest import LedgerProcesses, wait_until

pytestmark = pytest.mark.slow


def test_two_workers_answer_many_connections_at_once_and_stop_cleanly(
    ledger_processes: LedgerProcesses, pg_url: str
) -> None:
    ledger_processes.prepare(pg_url)
    server = ledger_processes.serve("api", pg_url, "--workers", "2")
    ledger_processes.wait_healthy(server)
    officer = ledger_processes.token("officer", "olga")

    def open_tenant(number: int) -> int:
        # A client each: a connection each, as 16 browsers or services would be.
        with server.client(officer) as client:
            return client.post("/v1/tenants", json={"name": f"Tenant {number}"}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(open_tenant, range(48)))

    assert statuses == [201] * 48, ledger_processes.logs()
    assert server.stop(), server.log()[-3000:]


def test_a_second_server_on_a_port_in_use_exits_with_a_clear_message(
    ledger_processes: LedgerProcesses, pg_url: str
) -> None:
    ledger_processes.prepare(pg_url)
    first = ledger_processes.serve("first", pg_url, "--workers", "2")
    ledger_processes.wait_healthy(first)

    second = ledger_processes.serve("second", pg_url, "--workers", "2", port=first.port)

    code = wait_until(lambda: second.popen.poll(), "the second server to give up", timeout=30)
    assert code == 3, second.log()
    assert "address already in use" in second.log().lower()
    assert httpx.get(f"{first.url}/healthz", timeout=5).status_code == 200
    assert first.stop(), first.log()[-3000:]
