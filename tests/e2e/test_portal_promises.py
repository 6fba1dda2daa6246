"""What the portal promises beyond its forms: a NUL character in a form post is refused by name
and stops nothing (on PostgreSQL, whose text columns cannot hold one), and the page says who
decided on each request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.auth import mint_token
from api.settings import Settings
from tests.conftest import make_settings
from tests.e2e.test_portal_pages import csrf_of, log_in

ASK = {"scope": "read", "resources": ["orders", "invoices"], "reason": "ticket 12",
       "duration_minutes": 60}


@pytest.fixture
def portal(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = make_settings(pg_url, tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _as(settings: Settings, role: str, actor: str, tenant: object = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(settings, role, actor, tenant=tenant)}"}


def test_a_form_post_with_a_nul_is_refused_by_name_and_every_read_model_goes_on(
    portal: tuple[TestClient, Settings],
) -> None:
    client, settings = portal
    officer, staff = _as(settings, "officer", "olga"), _as(settings, "staff", "sam")
    tenant = client.post("/v1/tenants", json={"name": "Acme"}, headers=officer).json()["id"]
    request = client.post(f"/v1/tenants/{tenant}/access-requests", json=ASK, headers=staff).json()
    client.get(f"/v1/access-requests/{request['id']}", headers=staff,
               params={"min_position": request["position"]})
    assert log_in(client, mint_token(settings, "customer", "carla", tenant=tenant)).status_code == 303

    for action, field, data in (
        ("approve", "resources", {"resources": "orders\x00/17"}),
        ("deny", "reason", {"reason": "no\x00way"}),
    ):
        answer = client.post(f"/portal/requests/{request['id']}/{action}",
                             data={"csrf_token": csrf_of(client), **data})
        assert answer.status_code == 422 and field in answer.text, (action, answer.text)

    # Nothing stopped: a decision after them is projected, and the store is healthy.
    denied = client.post(f"/portal/requests/{request['id']}/deny",
                         data={"csrf_token": csrf_of(client), "reason": "not now"})
    assert denied.status_code == 200 and "The request was denied." in denied.text
    assert client.get("/healthz").status_code == 200
    seen = client.get(f"/v1/access-requests/{request['id']}", headers=staff).json()
    assert seen["status"] == "denied" and seen["decided_by"] == "carla"
    assert 'data-request-id="' + request["id"] + '"' in denied.text
    assert "<td>carla</td>" in denied.text, "the page says who decided"
