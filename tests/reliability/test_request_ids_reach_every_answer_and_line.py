"""The request id reaches every log line a request causes, wherever it is made (a synchronous
route runs in Starlette's threadpool, not in the request's task), and every answer, including
the ones the app's own error handling and body limits make. In-process app, real HTTP server
where the answer's way through the server matters."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.auth import mint_token
from api.json_logs import JsonFormatter
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.reliability.test_input_beyond_the_schema import served
from tests.reliability.test_secrets_and_logs import EMAIL, NAME


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.formatter_.format(record))

    def of(self, request_id: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "request_id", None) == request_id]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def test_a_line_logged_by_a_route_in_the_threadpool_carries_the_request_id(
    tmp_path: Path, clock: MovableClock, records: Records,
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var")
    app = create_app(settings, clock=clock)

    def store_gone(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk gone")

    with TestClient(app) as client:
        app.state.stores.db.fetchone = store_gone  # /healthz (a sync route) then logs why
        answer = client.get("/healthz", headers={"X-Request-ID": "in-the-pool"})
    assert answer.status_code == 503 and answer.headers["x-request-id"] == "in-the-pool"
    [failed] = [r for r in records.of("in-the-pool") if r.name == "ledger.api"]
    assert failed.getMessage() == "health check failed: OSError"
    assert failed.thread != threading.main_thread().ident  # made in a worker thread
    [access] = [r for r in records.of("in-the-pool") if r.name == "ledger.access"]
    assert access.status == 503  # type: ignore[attr-defined]


def test_an_unexpected_error_is_answered_and_logged_with_the_request_id_and_no_personal_data(
    tmp_path: Path, clock: MovableClock, records: Records,
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var")
    app = create_app(settings, clock=clock)
    system = {"Authorization": f"Bearer {mint_token(settings, 'system', 'crm')}",
              "X-Request-ID": "it-broke"}

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"could not store {EMAIL}")

    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.stores.ledger.register_subject = failing
        answer = client.post("/v1/subjects", json={"name": NAME, "email": EMAIL}, headers=system)
    assert answer.status_code == 500 and answer.headers["x-request-id"] == "it-broke"
    lines = [json.loads(line) for line in records.lines]
    [error] = [line for line in lines if line.get("request_id") == "it-broke"
               and line["level"] == "ERROR"]
    assert "could not store [redacted]" in error["exception"]
    joined = "\n".join(records.lines)
    assert EMAIL not in joined and NAME not in joined


def test_the_body_limits_413_carries_the_request_id(tmp_path: Path, clock: MovableClock) -> None:
    settings = make_settings("memory://", tmp_path / "var")
    with served(create_app(settings, clock=clock)) as url:
        answer = httpx.post(f"{url}/v1/tenants", content=b"x" * (settings.max_body_bytes + 1),
                            headers={"X-Request-ID": "too-big"})
    assert answer.status_code == 413 and answer.headers["x-request-id"] == "too-big"


def test_with_text_logs_uvicorns_access_line_stays_and_no_json_one_is_added(
    tmp_path: Path, clock: MovableClock, records: Records,
) -> None:
    settings = make_settings("memory://", tmp_path / "var", log_format="text")
    with TestClient(create_app(settings, clock=clock)) as client:
        answer = client.get("/healthz", headers={"X-Request-ID": "plain"})
    assert answer.headers["x-request-id"] == "plain"  # echoed whatever the format
    assert not [r for r in records.records if r.name == "ledger.access"]
