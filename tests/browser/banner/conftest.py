"""The banner's browser tests share one ledger per module and store (SQLite, PostgreSQL), one
shop served from its own origin, and a new visitor (a browser context without cookies) per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.banner.banner_shop import SCREEN, Shop, register, serve_shop
from tests.browser.conftest import LiveServer, free_port, running_ledger
from tests.conftest import a_new_database, make_settings

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("banner-ledger")
    port = free_port()

    def serve(database_url: str) -> Iterator[LiveServer]:
        settings = make_settings(database_url, base / "var", public_url=f"http://127.0.0.1:{port}")
        with running_ledger(settings, port):
            yield LiveServer(f"http://127.0.0.1:{port}", settings)

    if request.param == "sqlite":
        yield from serve(f"sqlite:///{base}/ledger.sqlite")
    else:
        with a_new_database(request.getfixturevalue("pg_admin")) as url:
            yield from serve(url)


@pytest.fixture(scope="module")
def shop_origin(ledger: LiveServer) -> Iterator[str]:
    port = free_port()
    server = serve_shop(ledger.url, port)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def shop(ledger: LiveServer, shop_origin: str) -> Shop:
    return Shop(shop_origin, ledger, register(ledger, shop_origin, "Koffiebranderij Noord"))


@pytest.fixture
def visitor(chromium: Any) -> Iterator[Any]:
    """A new visitor: a browser context without cookies."""
    context = chromium.new_context(viewport=SCREEN)
    try:
        yield context
    finally:
        context.close()
