"""OpenTelemetry traces, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set: `ledger serve` on
PostgreSQL then sends a server span per request (named by its route's template) and a span per
SQL statement to a real OTLP/HTTP receiver (tests/otlp_receiver.py); the request id and the
trace id agree, and no span carries personal data, a token or a client's address. Unset,
nothing of the OpenTelemetry SDK is even imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.otlp_receiver import Received, attributes, otlp_receiver
from tests.conftest import make_settings
from tests.reliability.conftest import (
    AUTH_SECRET, REPO_ROOT, LedgerProcess, LedgerProcesses, wait_until,
)
from tests.reliability.test_secrets_and_logs import EMAIL, NAME, PHONE

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
SERVER, CLIENT = 2, 3  # the protocol's SpanKind numbers


@pytest.fixture
def ledger_processes(tmp_path: Path) -> Iterator[LedgerProcesses]:
    """As tests/reliability/conftest.py's fixture of the same name."""
    processes = LedgerProcesses(
        tmp_path, lambda url: make_settings(url, tmp_path / "var", auth_secret=AUTH_SECRET))
    try:
        yield processes
    finally:
        processes.end_all()


@pytest.fixture
def traced(ledger_processes: LedgerProcesses, pg_url: str) -> Iterator[tuple[LedgerProcess, Received]]:
    ledger_processes.prepare(pg_url)
    with otlp_receiver() as received:
        api = ledger_processes.serve(
            "api", pg_url, OTEL_EXPORTER_OTLP_ENDPOINT=received.url,
            OTEL_BSP_SCHEDULE_DELAY="50", OTEL_SERVICE_NAME="ledger-under-test",
        )
        ledger_processes.wait_healthy(api)
        yield api, received


def spans_of(received: Received, trace_id: str) -> list[Any]:
    return [span for span in received.spans() if span.trace_id.hex() == trace_id]


def test_a_request_is_a_server_span_named_by_its_route_with_its_sql_statements_inside(
    traced: tuple[LedgerProcess, Received], ledger_processes: LedgerProcesses,
) -> None:
    api, received = traced
    with api.client(ledger_processes.token("officer", "olga")) as officer:
        created = officer.post("/v1/tenants", json={"name": "Acme"}).json()
        answer = officer.get(f"/v1/tenants/{created['id']}",
                             params={"min_position": created["position"]},
                             headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == TRACE_ID  # the request id is the trace's

    def server_and_statements() -> Any:
        spans = spans_of(received, TRACE_ID)
        servers = [s for s in spans if s.kind == SERVER]
        statements = [s for s in spans if s.kind == CLIENT and "db.statement" in attributes(s)]
        return (servers, statements) if servers and statements else None

    servers, statements = wait_until(server_and_statements, "the request's spans", context=api.log)
    [server] = servers
    assert server.name == "GET /v1/tenants/{tenant_id}"
    assert attributes(server)["http.route"] == "/v1/tenants/{tenant_id}"
    assert server.parent_span_id.hex() == "00f067aa0ba902b7"  # continues the caller's trace
    assert any("SELECT" in attributes(s)["db.statement"].upper() for s in statements)
    assert all(attributes(s)["db.system"] == "postgresql" for s in statements)
    assert {r.attributes[0].value.string_value for r in received.resources()
            if r.attributes and r.attributes[0].key == "service.name"} <= {"ledger-under-test"}


def test_a_request_without_a_traceparent_takes_its_new_trace_id_as_request_id(
    traced: tuple[LedgerProcess, Received],
) -> None:
    api, received = traced
    request_id = httpx.get(f"{api.url}/healthz").headers["x-request-id"]
    [server] = wait_until(
        lambda: [s for s in spans_of(received, request_id) if s.kind == SERVER],
        "the request's span", context=api.log)
    assert server.name == "GET /healthz"


def test_no_span_carries_personal_data_a_token_or_the_clients_address(
    traced: tuple[LedgerProcess, Received], ledger_processes: LedgerProcesses,
) -> None:
    api, received = traced
    token = ledger_processes.token("system", "crm")
    with api.client(token) as system, api.client(ledger_processes.token("officer", "olga")) as officer:
        tenant = officer.post("/v1/tenants", json={"name": "Acme"}).json()["id"]
        subject = system.post("/v1/subjects", json={
            "tenant_id": tenant, "name": NAME, "email": EMAIL, "phone": PHONE})
        assert subject.status_code == 201
        refused = system.post("/v1/subjects", json={"name": NAME, "email": "not " + EMAIL},
                              headers={"traceparent": TRACEPARENT})
        assert refused.status_code == 422
        system.get("/v1/tenants", params={"token": token, "email": EMAIL})
        link = system.post(f"/v1/subjects/{subject.json()['id']}/unsubscribe-links",
                           json={"purpose": "info_mail", "channel": "email"}).json()["url"]
    unsubscribe = "/" + link.split("/", 3)[3]
    assert httpx.get(api.url + unsubscribe).status_code == 200
    secret = unsubscribe.rsplit("/", 1)[1]

    wait_until(lambda: any(s.name.startswith("GET /v1/unsubscribe/") for s in received.spans()),
               "the unsubscribe request's span", context=api.log)
    wait_until(lambda: spans_of(received, TRACE_ID), "the refused request's span")
    exported = b"".join(received.raw).decode("utf-8", "replace")
    for value in (NAME, EMAIL, PHONE, token, secret):
        assert value not in exported, value
    for span in received.spans():
        named = attributes(span)
        assert not {"net.peer.ip", "client.address", "network.peer.address"} & named.keys()


def test_without_an_otlp_endpoint_nothing_of_the_opentelemetry_sdk_is_loaded(
    tmp_path: Path,
) -> None:
    script = f"""
import json, sys
from fastapi.testclient import TestClient
from api.app import create_app
from tests.conftest import make_settings
settings = make_settings("memory://", __import__("pathlib").Path({str(tmp_path)!r}) / "var")
with TestClient(create_app(settings)) as client:
    client.get("/healthz", headers={{"traceparent": {TRACEPARENT!r}}})
from opentelemetry import trace
print(json.dumps({{
    "loaded": sorted(m for m in sys.modules if m.startswith(
        ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation",
         "api.otel_traces"))),
    "provider": type(trace.get_tracer_provider()).__name__,
}}))
"""
    for extra in ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"}):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "LEDGER_"))}
        env.update(PYTHONPATH=str(REPO_ROOT), **extra)
        done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout.strip().splitlines()[-1])
        assert found == {"loaded": [], "provider": "ProxyTracerProvider"}, (extra, found)
