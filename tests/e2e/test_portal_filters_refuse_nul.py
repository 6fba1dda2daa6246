"""The portal's access-log filters and page links with a NUL (or another control character)
are a 422 page naming the field, on SQLite and on PostgreSQL (which cannot even hold a NUL
in a query's text): never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.test_portal_pages import World, logged_in


@pytest.fixture
def durable_world(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[World]:
    settings = make_settings(durable_database_url, tmp_path / "var", poll_interval_ms=5)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield World(settings, client, clock)


@pytest.mark.parametrize(
    ("field", "value"),
    [("actor", "sam\x00"), ("actor", "sam\x1b[2J"), ("since", "2026-01-01\x00"),
     ("until", "\x00"), ("outcome", "allowed\x00"), ("after", "abc\x00def")],
)
def test_a_log_filter_or_page_link_with_a_control_character_is_a_422_page_naming_it(
    durable_world: World, field: str, value: str,
) -> None:
    client = logged_in(durable_world, durable_world.tenant("Acme"))

    response = client.get("/portal/log", params={field: value})

    assert response.status_code == 422, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    assert f"({field})" in response.text or f"{field} " in response.text
    assert client.get("/portal/log").status_code == 200  # and the portal goes on


def test_a_page_link_that_the_portal_did_not_give_out_is_a_422_page(
    durable_world: World,
) -> None:
    client = logged_in(durable_world, durable_world.tenant("Acme"))
    for after in ("A" * 501, "not a cursor!", "AAAA"):
        response = client.get("/portal/log", params={"after": after})
        assert response.status_code == 422, (after, response.text[:300])
        assert "(after)" in response.text


def test_the_csv_download_refuses_a_nul_filter_too(durable_world: World) -> None:
    client = logged_in(durable_world, durable_world.tenant("Acme"))
    response = client.get("/portal/log.csv", params={"actor": "sam\x00"})
    assert response.status_code == 422
    assert "control character" in response.text


def test_a_logged_in_page_with_an_unknown_parameter_is_a_422_page(durable_world: World) -> None:
    client = logged_in(durable_world, durable_world.tenant("Acme"))
    response = client.get("/portal/log", params={"actr": "sam"})
    assert response.status_code == 422
    assert "does not take actr" in response.text
