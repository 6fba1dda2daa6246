"""`Idempotency-Key` when the first try fails or is still running: a key is only kept with an
answer the client can rely on. A server error (a bug, or the database away) frees the key, so
the client's retry runs for real; a retry while the first try still runs waits for it, and is
told to retry if it takes too long. Found by `make mutate`: the failure paths' releases and the
409's Retry-After could be removed and every test still passed."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api import idempotency
from tests.e2e.conftest import Api

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
    sqlite_api: Api, error: Exception, status: int
) -> None:
    api = sqlite_api
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
    assert busy.status_code == 409, busy.text
    assert busy.headers["retry-after"] == "1"
    assert "still running" in busy.json()["detail"]

    assert first["r"].status_code == 201
    replayed = _post(api.client, api, "key-2")
    assert (replayed.status_code, replayed.json()) == (201, first["r"].json())
    assert replayed.headers["idempotent-replayed"] == "true"
