"""`Idempotency-Key` when the first try fails or is still running: a key is only kept with an
answer the client can rely on. A server error (a bug, or the database away) frees the key, so
the client's retry runs for real; a retry while the first try still runs waits for it, and is
told to retry if it takes too long. Found by `make mutate`: the failure paths' releases and the
409's Retry-After could be removed and every test still passed."""

from __future__ import annotations

import json
import threading
from typing import Any

import anyio
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.http import idempotency
from tests.conftest import run_in_a_loop_of_its_own
from tests.e2e.conftest import Api, problem

TENANT = {"name": "Acme B.V."}


def _failing_once(api: Api, error: Exception) -> None:
    """The next tenant opening raises `error`; the one after works again."""
    ledger = api.ledger
    real = ledger.open_tenant

    def open_tenant(*args: Any, **kwargs: Any) -> Any:
        ledger.open_tenant = real  # type: ignore[method-assign]
        raise error

    ledger.open_tenant = open_tenant  # type: ignore[method-assign]


def _post(client: TestClient, api: Api, key: str) -> Any:
    headers = {"Authorization": f"Bearer {api.token('officer', 'olga')}", "Idempotency-Key": key}
    return client.post("/v1/tenants", json=TENANT, headers=headers)


@pytest.mark.parametrize("error, status", [
    (RuntimeError("a bug"), 500),
    (psycopg.OperationalError("server closed the connection unexpectedly"), 503),
], ids=["a-bug", "the-database-away"])
def test_a_write_answered_with_a_server_error_frees_its_key_and_the_retry_runs(
    sqlite_api: Api, error: Exception, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sqlite_api
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.5)  # a key left claimed: 409, not a hang
    _failing_once(api, error)
    client = TestClient(api.app, raise_server_exceptions=False)
    before = api.events()

    assert _post(client, api, "key-1").status_code == status
    assert api.events() == before

    retried = _post(client, api, "key-1")
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers, "it ran, it was not replayed"
    assert api.events() == before + 1


def test_a_retry_while_the_first_try_runs_waits_for_it_or_is_told_to_retry(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sqlite_api
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    ledger, real = api.ledger, api.ledger.open_tenant
    started, go_on = threading.Event(), threading.Event()

    def slow_open_tenant(*args: Any, **kwargs: Any) -> Any:
        started.set()
        assert go_on.wait(10)
        return real(*args, **kwargs)

    ledger.open_tenant = slow_open_tenant  # type: ignore[method-assign]
    first: dict[str, Any] = {}
    running = threading.Thread(target=lambda: first.update(r=_post(api.client, api, "key-2")))
    running.start()
    assert started.wait(10)

    try:
        busy = _post(api.client, api, "key-2")
    finally:
        go_on.set()  # whatever happened, the first try ends within the test
        running.join(10)
    assert problem(busy, 409) == {
        "type": "about:blank", "title": "Conflict", "status": 409, "instance": "/v1/tenants",
        "detail": "a request with this Idempotency-Key is still running; retry shortly",
    }
    assert busy.headers["retry-after"] == "1"

    assert first["r"].status_code == 201
    replayed = _post(api.client, api, "key-2")
    assert (replayed.status_code, replayed.json()) == (201, first["r"].json())
    assert replayed.headers["idempotent-replayed"] == "true"


def test_a_request_cancelled_while_it_runs_still_finishes_and_the_retry_gets_its_answer(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server cancels a request (shutting down, or a client gone under a server that
    cancels for it) while its write runs in a worker thread, which nobody can stop. The write
    happens, so its answer is kept: the retry is answered with it, not written a second time,
    and not told for two minutes that the request is still running. (The key used to be freed
    on cancellation, and the retry opened a second tenant.)"""
    api = sqlite_api
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.5)
    ledger, real = api.ledger, api.ledger.open_tenant
    started, go_on = threading.Event(), threading.Event()

    def slow_open_tenant(*args: Any, **kwargs: Any) -> Any:
        ledger.open_tenant = real  # type: ignore[method-assign]
        started.set()
        assert go_on.wait(10)
        return real(*args, **kwargs)

    ledger.open_tenant = slow_open_tenant  # type: ignore[method-assign]
    body = json.dumps(TENANT).encode()
    token = api.token("officer", "olga")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/tenants", "raw_path": b"/v1/tenants", "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()), (b"idempotency-key", b"key-3"),
        ],
    }
    sent: list[dict[str, Any]] = []
    unread = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        if unread:
            return unread.pop()
        await anyio.sleep_forever()  # the client sends nothing more and stays
        raise AssertionError("not reached")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def cancelled_while_it_runs() -> None:
        async with anyio.create_task_group() as requests:
            requests.start_soon(api.app, scope, receive, send)
            assert await anyio.to_thread.run_sync(started.wait, 10)
            requests.cancel_scope.cancel()
            go_on.set()

    try:
        run_in_a_loop_of_its_own(cancelled_while_it_runs)
    finally:
        go_on.set()
    recorded = api.events()

    retried = api.client.post("/v1/tenants", content=body, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": "key-3",
        "Content-Type": "application/json",
    })
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotent-replayed"] == "true"
    assert api.events() == recorded, "the retry recorded nothing: one tenant, not two"
