"""The portal's notifications page through FastAPI's TestClient, as a browser would use it: the
tenant's approvers and language, its webhooks (added with the secret shown once, disabled,
enabled, deleted) and its recent deliveries with a redelivery button; every form carries the
session's CSRF token, and what the API refuses is shown on the page, never a 500."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.auth import mint_token
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.webhook_receiver import WebhookReceiver

PAGE = "/portal/webhooks"
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket 17", "duration_minutes": 60}


class Portal:
    def __init__(self, client: TestClient, settings: Any) -> None:
        self.client, self.settings = client, settings

    def bearer(self, role: str, actor: str, tenant: object = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(self.settings, role, actor, tenant=tenant)}"}

    def tenant(self, name: str = "Acme B.V.") -> str:
        officer = self.bearer("officer", "olga")
        answer = self.client.post("/v1/tenants", json={"name": name}, headers=officer)
        return answer.json()["id"]

    def log_in(self, tenant: str, actor: str = "carla") -> TestClient:
        browser = TestClient(self.client.app)
        form = browser.get("/portal/login").text
        token = mint_token(self.settings, "customer", actor, tenant=tenant)
        answer = browser.post("/portal/login", data={"token": token, "csrf_token": _hidden(form)},
                              follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return browser

    def hooks(self, tenant: str) -> list[dict[str, Any]]:
        answer = self.client.get("/v1/webhooks", headers=self.bearer("customer", "carla", tenant))
        return answer.json()["items"]


def _hidden(html: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} on the page"
    return match.group(1)


def _post(browser: TestClient, path: str, **fields: Any) -> Any:
    token = _hidden(browser.get(PAGE).text)
    return browser.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


@pytest.fixture
def portal(tmp_path: Path, clock: MovableClock) -> Iterator[Portal]:
    settings = make_settings(
        "memory://", tmp_path / "var", poll_interval_ms=5, webhook_allowed_hosts=["127.0.0.1"],
        outbox_interval_seconds=0.05,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Portal(client, settings)


def test_the_page_is_in_the_menu_and_offers_only_the_tenants_notice_types(portal: Portal) -> None:
    browser = portal.log_in(portal.tenant())
    page = browser.get(PAGE)
    assert page.status_code == 200
    assert '<a href="/portal/webhooks" aria-current="page">Notifications</a>' in page.text
    assert 'value="access.requested"' in page.text and 'value="incident.reported"' in page.text
    assert "data_request.overdue" not in page.text
    assert "No approver is set yet" in page.text and "No webhook is subscribed" in page.text


def test_without_a_session_the_page_sends_the_visitor_to_log_in(portal: Portal) -> None:
    answer = portal.client.get(PAGE, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/portal/login"


def test_approvers_are_saved_with_the_form_and_a_bad_address_is_shown_not_saved(
    portal: Portal,
) -> None:
    tenant = portal.tenant()
    browser = portal.log_in(tenant)
    saved = _post(
        browser, f"{PAGE}/contacts", approver_emails="ciso@acme.example\n it@acme.example ",
        language="nl",
    )
    assert saved.status_code == 303
    page = browser.get(saved.headers["location"]).text
    assert "Your approvers and language are saved." in page
    assert "ciso@acme.example\nit@acme.example" in page
    assert '<option value="nl" selected>' in page

    refused = _post(browser, f"{PAGE}/contacts", approver_emails="ciso at acme", language="en")
    assert refused.status_code == 422 and "is not an e-mail address" in refused.text
    kept = portal.client.get(f"/v1/tenants/{tenant}/contacts",
                             headers=portal.bearer("customer", "carla", tenant)).json()
    assert kept["approver_emails"] == ["ciso@acme.example", "it@acme.example"]


def test_a_new_webhook_shows_its_secret_once_and_never_again(portal: Portal) -> None:
    tenant = portal.tenant()
    browser = portal.log_in(tenant)
    answer = _post(browser, PAGE, url="http://127.0.0.1:9/hooks",
                   types=["access.requested", "incident.reported"], description="on call")
    assert answer.status_code == 200
    secret = re.search(r"<code class=\"secret\" data-secret>(whsec_[^<]+)</code>", answer.text)
    assert secret and "shown this once" in answer.text
    assert answer.headers["cache-control"] == "no-store"
    [hook] = portal.hooks(tenant)
    assert hook["types"] == ["access.requested", "incident.reported"]
    assert secret.group(1) not in browser.get(PAGE).text


def test_a_form_without_its_token_changes_nothing(portal: Portal) -> None:
    tenant = portal.tenant()
    browser = portal.log_in(tenant)
    form = {"url": "http://127.0.0.1:9/hooks", "types": "access.requested"}
    answer = browser.post(PAGE, data=form)
    assert answer.status_code == 403
    assert portal.hooks(tenant) == []


@pytest.mark.parametrize(("fields", "words"), [
    ({"url": "https://10.1.2.3/hooks", "types": "access.requested"}, "private"),
    ({"url": "http://127.0.0.1:9/hooks"}, "types"),
    ({"url": "", "types": "access.requested"}, "url"),
])
def test_what_the_api_refuses_is_shown_on_the_page_with_its_reason(
    portal: Portal, fields: dict[str, Any], words: str,
) -> None:
    tenant = portal.tenant()
    answer = _post(portal.log_in(tenant), PAGE, **fields)
    assert answer.status_code == 422 and words in answer.text.lower()
    assert 'class="error" role="alert"' in answer.text
    assert portal.hooks(tenant) == []


def test_a_webhook_is_disabled_enabled_and_deleted_with_its_buttons(portal: Portal) -> None:
    tenant = portal.tenant()
    browser = portal.log_in(tenant)
    _post(browser, PAGE, url="http://127.0.0.1:9/hooks", types="access.requested")
    [hook] = portal.hooks(tenant)
    base = f"{PAGE}/{hook['id']}"

    assert _post(browser, f"{base}/disable").status_code == 303
    assert portal.hooks(tenant)[0]["status"] == "disabled"
    assert f'action="{base}/enable"' in browser.get(PAGE).text
    _post(browser, f"{base}/enable")
    assert portal.hooks(tenant)[0]["status"] == "active"
    rotated = _post(browser, f"{base}/rotate-secret")
    assert rotated.status_code == 200 and "whsec_" in rotated.text
    _post(browser, f"{base}/delete")
    assert portal.hooks(tenant) == []


def test_another_tenants_webhook_cannot_be_touched_from_the_page(portal: Portal) -> None:
    own, other = portal.tenant("Own"), portal.tenant("Other")
    _post(portal.log_in(own), PAGE, url="http://127.0.0.1:9/hooks", types="access.requested")
    [hook] = portal.hooks(own)
    intruder = portal.log_in(other, "otto")
    for action in ("disable", "delete", "rotate-secret"):
        answer = _post(intruder, f"{PAGE}/{hook['id']}/{action}")
        assert answer.status_code == 404 and "whsec_" not in answer.text
    assert _post(intruder, f"{PAGE}/not-an-id/delete").status_code == 404
    assert portal.hooks(own)[0]["status"] == "active"


def test_recent_deliveries_are_listed_and_one_is_sent_again_with_its_button(
    portal: Portal,
) -> None:
    tenant = portal.tenant()
    browser = portal.log_in(tenant)
    with WebhookReceiver(check_timestamp=False) as receiver:
        made = _post(browser, PAGE, url=receiver.url, types="access.requested")
        receiver.secret = re.search(r"data-secret>(whsec_[^<]+)<", made.text).group(1)
        portal.client.post(f"/v1/tenants/{tenant}/access-requests", json=ACCESS,
                           headers=portal.bearer("staff", "sam"))
        first = receiver.wait_for(1)[0]
        delivery = first.headers["webhook-id"]
        row = _row_when(browser, delivery, "status-delivered")
        assert "access.requested" in row and "204" in row and receiver.url in row

        again = _post(browser, f"/portal/deliveries/{delivery}/redeliver")
        assert again.status_code == 303
        assert again.headers["location"].endswith("notice=redelivering")
        second = receiver.wait_for(2)[1]
        assert second.headers["webhook-id"] == delivery and receiver.verified


def _row_when(browser: TestClient, delivery: str, marker: str) -> str:
    """The delivery's row of the page once it shows `marker` (the dispatcher records an
    attempt just after the receiver answered it)."""
    for _ in range(200):
        page = browser.get(PAGE).text
        found = re.search(rf'<tr id="delivery-{delivery}".*?</tr>', page, re.S)
        if found and marker in found.group(0):
            return found.group(0)
        time.sleep(0.02)
    raise AssertionError(f"the delivery {delivery} never showed {marker}")
