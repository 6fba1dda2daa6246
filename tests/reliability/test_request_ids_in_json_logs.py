"""`ledger serve` and `ledger worker` write one JSON object per line to stderr (the default
LEDGER_LOG_FORMAT), and every line a request causes carries its request id: the one the
client sent in `X-Request-ID`, or the trace id of its `traceparent`, or a fresh one. The id is
echoed on every answer; an id that is too long, holds odd characters or looks like personal
data is replaced, and never written out. Real processes, real HTTP, stderr read apart from
stdout (where `ledger serve` prints its banner for the eye)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import LedgerProcess, LedgerProcesses, free_port, wait_until
from tests.reliability.test_process_output_holds_no_personal_data import _journey
from tests.reliability.test_request_head_limits import (
    LIMIT, connect, header_lines, read_all, send_until_answered, status_and_body,
)
from tests.reliability.test_secrets_and_logs import (
    EMAIL, NAME, NEW_EMAIL, NEW_NAME, PHONE, TENANT_NAME, Secrets,
)

pytestmark = pytest.mark.slow

FRESH = re.compile(r"[0-9a-f]{32}")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def start_apart(procs: LedgerProcesses, name: str, database_url: str, args: list[str],
                port: int | None, **extra: str) -> LedgerProcess:
    """A `ledger` subprocess whose stderr goes to its own file (the process's `log()`)."""
    stderr_path = procs.base / f"{name}.stderr"
    with stderr_path.open("wb") as stderr, (procs.base / f"{name}.stdout").open("wb") as stdout:
        popen = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", *args], cwd=procs.base,
            env=procs.env(database_url, name, **extra), stdout=stdout, stderr=stderr,
            start_new_session=True,
        )
    process = LedgerProcess(name, popen, stderr_path, port)
    procs.started.append(process)
    return process


def serve_apart(procs: LedgerProcesses, name: str, database_url: str, **extra: str) -> LedgerProcess:
    port = free_port()
    return start_apart(procs, name, database_url,
                       ["serve", "--host", "127.0.0.1", "--port", str(port)], port, **extra)


def json_lines(process: LedgerProcess) -> list[dict[str, Any]]:
    """Every line of the process's stderr, each of which must be a JSON object."""
    entries = []
    for line in process.log().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            pytest.fail(f"{process.name} wrote a line to stderr that is not JSON: {line!r}")
        assert isinstance(entry, dict), line
        assert {"time", "level", "logger", "message"} <= entry.keys(), line
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"]), line
        entries.append(entry)
    return entries


def access_lines(process: LedgerProcess, request_id: str) -> list[dict[str, Any]]:
    return [entry for entry in json_lines(process)
            if entry["logger"] == "ledger.access" and entry.get("request_id") == request_id]


@pytest.fixture
def sqlite_server(ledger_processes: LedgerProcesses, tmp_path: Path) -> LedgerProcess:
    url = f"sqlite:///{tmp_path}/ledger.sqlite"
    ledger_processes.prepare(url)
    process = serve_apart(ledger_processes, "api", url)
    ledger_processes.wait_healthy(process)
    return process


def test_a_request_with_an_x_request_id_is_logged_with_it_and_answered_with_it(
    sqlite_server: LedgerProcess,
) -> None:
    answer = httpx.get(f"{sqlite_server.url}/healthz", headers={"X-Request-ID": "abc-123"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "abc-123"

    [line] = wait_until(lambda: access_lines(sqlite_server, "abc-123"), "the access line",
                        context=sqlite_server.log)
    assert line["level"] == "INFO" and line["message"] == "GET /healthz 200"
    assert (line["method"], line["route"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    # uvicorn's own access line, without the route or the duration, is not written as well
    assert not [e for e in json_lines(sqlite_server) if e["logger"] == "uvicorn.access"]


def test_the_access_line_names_the_route_not_the_ids_in_the_path(
    sqlite_server: LedgerProcess, ledger_processes: LedgerProcesses,
) -> None:
    with sqlite_server.client(ledger_processes.token("officer", "olga")) as officer:
        created = officer.post("/v1/tenants", json={"name": "Acme"}).json()
        tenant = created["id"]
        answer = officer.get(f"/v1/tenants/{tenant}", params={"min_position": created["position"]},
                             headers={"X-Request-ID": "route-1"})
    assert answer.status_code == 200
    [line] = wait_until(lambda: access_lines(sqlite_server, "route-1"), "the access line",
                        context=sqlite_server.log)
    assert line["route"] == "/v1/tenants/{tenant_id}" and "path" not in line
    assert tenant not in sqlite_server.log()


def test_a_traceparent_gives_the_request_its_trace_id(sqlite_server: LedgerProcess) -> None:
    answer = httpx.get(f"{sqlite_server.url}/healthz", headers={"traceparent": TRACEPARENT})
    assert answer.headers["x-request-id"] == TRACE_ID
    wait_until(lambda: access_lines(sqlite_server, TRACE_ID), "the access line",
               context=sqlite_server.log)


def test_a_request_without_an_id_gets_a_fresh_one_on_its_answer_and_its_line(
    sqlite_server: LedgerProcess,
) -> None:
    given = httpx.get(f"{sqlite_server.url}/no-such-page").headers["x-request-id"]
    again = httpx.get(f"{sqlite_server.url}/no-such-page").headers["x-request-id"]
    assert FRESH.fullmatch(given) and FRESH.fullmatch(again) and given != again
    [line] = wait_until(lambda: access_lines(sqlite_server, given), "the access line",
                        context=sqlite_server.log)
    assert (line["path"], line["status"]) == ("/no-such-page", 404) and "route" not in line


HOSTILE = [
    "a" * 129,
    'x", "level": "CRITICAL", "message": "forged',
    "abc def",
    EMAIL,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=["too-long", "quotes", "space", "email", "jwt"])
def test_a_hostile_request_id_is_replaced_and_never_written_out(
    sqlite_server: LedgerProcess, hostile: str,
) -> None:
    answer = httpx.get(f"{sqlite_server.url}/healthz", headers={"X-Request-ID": hostile})
    assert answer.status_code == 200
    replaced = answer.headers["x-request-id"]
    assert FRESH.fullmatch(replaced), replaced
    wait_until(lambda: access_lines(sqlite_server, replaced), "the access line",
               context=sqlite_server.log)
    assert hostile not in sqlite_server.log()


def test_a_request_id_with_a_line_break_forges_no_log_line(sqlite_server: LedgerProcess) -> None:
    forged = '{"level": "CRITICAL", "message": "forged"}'
    assert sqlite_server.port is not None
    with socket.create_connection(("127.0.0.1", sqlite_server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ledger\r\nX-Request-ID: abc\n"
                     + forged.encode() + b"\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), answer
    assert int(answer.split(b" ", 2)[1]) < 500, answer
    httpx.get(f"{sqlite_server.url}/healthz", headers={"X-Request-ID": "after-the-forgery"})
    wait_until(lambda: access_lines(sqlite_server, "after-the-forgery"), "the next access line",
               context=sqlite_server.log)
    entries = json_lines(sqlite_server)  # every line still one JSON object
    assert not [e for e in entries if e["message"] == "forged"], sqlite_server.log()
    assert "forged" not in sqlite_server.log()


@pytest.mark.postgres
def test_a_journey_on_postgresql_leaves_json_lines_with_request_ids_and_no_personal_data(
    ledger_processes: LedgerProcesses, pg_url: str,
) -> None:
    procs = ledger_processes
    settings = procs.prepare(pg_url)
    api = serve_apart(procs, "api", pg_url, LEDGER_LOG_LEVEL="DEBUG", LEDGER_RUN_WORKERS="false")
    worker = start_apart(procs, "worker", pg_url, ["worker", "--sweep"], None,
                         LEDGER_LOG_LEVEL="DEBUG")
    procs.wait_healthy(api)
    secrets = Secrets()
    secrets.add(NAME, NEW_NAME, EMAIL, NEW_EMAIL, PHONE, TENANT_NAME)

    _journey(procs, api.url, secrets)
    with api.client(procs.token("officer", "olga")) as officer:
        assert officer.get("/v1/tenants", headers={"X-Request-ID": "pg-read-1"}).status_code == 200
    secrets.of_settings(settings)
    for process in (api, worker):
        assert process.stop(), process.log()[-3000:]

    entries = {process.name: json_lines(process) for process in (api, worker)}
    assert any(e["message"] == "worker stopped" for e in entries["worker"]), entries["worker"]
    [read] = [e for e in entries["api"] if e.get("request_id") == "pg-read-1"]
    assert (read["logger"], read["route"], read["status"]) == ("ledger.access", "/v1/tenants", 200)
    assert any(e["route"] == "/v1/subjects" and e["status"] == 201
               for e in entries["api"] if e["logger"] == "ledger.access")
    written = [json.dumps(e, ensure_ascii=False) for lines in entries.values() for e in lines]
    written += [(procs.base / f"{name}.stdout").read_text() for name in entries]
    leaks = secrets.found_in(written)
    assert leaks == [], "\n".join(leaks[:20])


def test_a_head_refused_for_its_size_is_answered_and_logged_with_its_request_id(
    sqlite_server: LedgerProcess,
) -> None:
    with connect(sqlite_server) as sock:
        pieces = [b"GET /healthz HTTP/1.1\r\nHost: ledger\r\nX-Request-ID: big-head\r\n",
                  *header_lines(LIMIT + 4096)]
        send_until_answered(sock, [*pieces, b"\r\n"])
        answer = read_all(sock)
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert status_and_body(answer)[0] == 431 and b"\r\nx-request-id: big-head" in head, head
    [refused] = wait_until(
        lambda: [e for e in json_lines(sqlite_server) if e.get("request_id") == "big-head"],
        "the refusal's line", context=sqlite_server.log)
    assert "(431)" in refused["message"]
