"""A real server and a real browser: uvicorn on a free 127.0.0.1 port, Debian's Chromium.

The server runs in a thread of the test process, on a SQLite file in the test's temporary
directory, with its projections running in-process as `ledger serve` runs them. Chromium is
driven by Playwright through `executable_path`, so no browser is ever downloaded.

Without Chromium or Playwright these tests skip with instructions; in CI (CI=true) they fail
instead, so a green CI run always means a browser really ran.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.conftest import make_settings

CHROMIUM = os.environ.get("LEDGER_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-output" / "screenshots"
HOW_TO_INSTALL = (
    "install the browser with `apt-get install chromium` (Debian's package, at "
    "/usr/bin/chromium) and its driver with `.venv/bin/pip install playwright==1.65.2`; "
    "do not run `playwright install`"
)


def _unavailable(reason: str) -> None:
    message = f"browser tests need Chromium and Playwright: {reason}; {HOW_TO_INSTALL}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: Settings

    def api(self, method: str, path: str, token: str, json: Any = None) -> httpx.Response:
        return httpx.request(
            method, self.url + path, json=json, timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )

    def token(self, role: str, actor: str, tenant: object = None) -> str:
        from api.http.auth import mint_token

        return mint_token(self.settings, role, actor, tenant=tenant)


@contextmanager
def running_ledger(settings: Settings, port: int) -> Iterator[None]:
    """The ledger with these settings, served by uvicorn on 127.0.0.1:`port` in a thread."""
    import uvicorn

    from api.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="portal-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start the ledger for the browser tests")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("portal-server")
    port = free_port()
    settings = make_settings(
        f"sqlite:///{base}/ledger.sqlite", base / "var", public_url=f"http://127.0.0.1:{port}"
    )
    with running_ledger(settings, port):
        yield LiveServer(f"http://127.0.0.1:{port}", settings)


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
