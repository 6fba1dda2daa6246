"""Read-your-writes that costs no thread: `min_position` beyond the last event is refused at
once, a wait for a reachable one sleeps on the event loop, and one caller holds only a few.

The app runs in this test's own event loop (httpx over ASGI, no lifespan), so its read side
does not follow the log until a test starts it: positions written meanwhile are reachable
but not reached, and every wait lasts until the test lets it end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.http.auth import mint_token
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, fields_named

WAIT_SECONDS = 1.5


def _run(scenario: Any) -> Any:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright keeps an event loop
    running in the main thread for the whole session, where `asyncio.run` is refused."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, scenario).result()


@pytest.fixture
def lagging_app(tmp_path: Path) -> Iterator[FastAPI]:
    """An app whose read side stands still, with one event it has not applied."""
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", read_wait_seconds=WAIT_SECONDS
    )
    app = create_app(settings, clock=MovableClock())
    try:
        app.state.stores.ledger.open_tenant("Acme B.V.", "olga")
        yield app
    finally:
        app.state.read_side.stop()
        app.state.stores.close()


def _headers(app: FastAPI, actor: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(app.state.settings, 'officer', actor)}"}


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ledger", timeout=30
    )


def test_a_position_beyond_the_last_stored_event_is_422_at_once_naming_min_position(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    started = time.monotonic()
    response = officer.get("/v1/tenants", params={"min_position": 2**63 - 1})
    took = time.monotonic() - started

    assert fields_named(response) == {"min_position"}
    assert "beyond the last stored event" in response.json()["detail"]
    assert took < 1.0  # generous: it must not wait out LEDGER_READ_WAIT_SECONDS (5 s)


def test_a_position_beyond_the_last_event_is_refused_on_reads_from_the_ledger_itself_too(
    sqlite_api: Api,
) -> None:
    officer = sqlite_api.user("officer", "olga")
    subject = officer.post("/v1/subjects", json={"name": "Jan", "email": "jan@example.org"})
    path = f"/v1/subjects/{subject.json()['id']}/history"
    assert fields_named(officer.get(path, params={"min_position": 10**12})) == {"min_position"}


def test_a_wait_answers_as_soon_as_the_read_side_catches_up(lagging_app: FastAPI) -> None:
    async def scenario() -> httpx.Response:
        async with _client(lagging_app) as client:
            waiting = asyncio.ensure_future(client.get(
                "/v1/tenants", params={"min_position": 1}, headers=_headers(lagging_app, "olga")
            ))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            lagging_app.state.read_side.runner.start()
            return await waiting

    response = _run(scenario())
    assert response.status_code == 200, response.text
    assert [t["name"] for t in response.json()["items"]] == ["Acme B.V."]


def test_a_hundred_waits_from_one_caller_get_429_beyond_four_and_healthz_answers_meanwhile(
    lagging_app: FastAPI,
) -> None:
    async def scenario() -> tuple[list[httpx.Response], httpx.Response, float, httpx.Response]:
        async with _client(lagging_app) as client:
            one = _headers(lagging_app, "olga")
            waits = [
                asyncio.ensure_future(client.get(
                    "/v1/tenants", params={"min_position": 1}, headers=one
                ))
                for _ in range(100)
            ]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            health = await client.get("/healthz")
            health_took = time.monotonic() - started
            # Another caller is not held back by the first one's waits.
            other = await client.get(
                "/v1/tenants", params={"min_position": 1}, headers=_headers(lagging_app, "oscar")
            )
            return list(await asyncio.gather(*waits)), health, health_took, other

    answers, health, health_took, other = _run(scenario())

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [429] * 96 + [503] * 4
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "already waiting" in refused.json()["detail"]
    assert health.status_code == 200 and health_took < 1.0
    assert other.status_code == 503 and other.headers["retry-after"] == "1"


def test_waits_hold_no_thread_so_healthz_answers_while_more_waits_run_than_there_are_threads(
    lagging_app: FastAPI,
) -> None:
    async def scenario() -> tuple[list[str], list[int]]:
        # Fewer threads than waits: a wait that held a thread would starve the rest.
        anyio.to_thread.current_default_thread_limiter().total_tokens = 3
        finished: list[str] = []
        async with _client(lagging_app) as client:
            async def wait(actor: str) -> int:
                response = await client.get(
                    "/v1/tenants", params={"min_position": 1},
                    headers=_headers(lagging_app, actor),
                )
                finished.append("wait")
                return response.status_code

            async def health() -> Any:
                await asyncio.sleep(0.3)
                response = await client.get("/healthz")
                finished.append(f"healthz {response.status_code}")

            results = await asyncio.gather(
                *(wait(f"caller-{n}") for n in range(20)), health()
            )
        return finished, [r for r in results if isinstance(r, int)]

    finished, statuses = _run(scenario())

    assert finished[0] == "healthz 200", finished
    assert statuses == [503] * 20
