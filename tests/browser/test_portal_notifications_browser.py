"""A customer admin sets up notifications in Chromium: approvers and their language, a webhook
chosen with checkboxes whose secret is shown once, and a delivery to a real receiver on loopback
that is sent again with its button. A screenshot lands in test-output/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, free_port, running_ledger
from tests.conftest import make_settings
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "Ticket 4711", "duration_minutes": 60}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("notifications-server")
    port = free_port()
    settings = make_settings(
        f"sqlite:///{base}/ledger.sqlite", base / "var", public_url=f"http://127.0.0.1:{port}",
        webhook_allowed_hosts=["127.0.0.1"], outbox_interval_seconds=0.1,
    )
    with running_ledger(settings, port):
        yield LiveServer(f"http://127.0.0.1:{port}", settings)


def test_a_customer_admin_sets_up_notifications_and_sends_a_delivery_again_in_a_browser(
    chromium: Any, server: LiveServer, screenshot_dir: Path,
) -> None:
    officer = server.token("officer", "olga")
    tenant = server.api("POST", "/v1/tenants", officer, {"name": "Acme"}).json()["id"]
    page = chromium.new_page()
    page.goto(server.url + "/portal")
    page.get_by_label("Access token").fill(server.token("customer", "carla.admin", tenant))
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Notifications").click()

    page.get_by_label("E-mail addresses of your approvers").fill("ciso@acme.example")
    page.get_by_label("Language of the mail").select_option("nl")
    page.get_by_role("button", name="Save approvers").click()
    page.wait_for_selector("text=Your approvers and language are saved.")

    with WebhookReceiver() as receiver:
        page.get_by_label("URL (https)").fill(receiver.url)
        page.get_by_label("access.requested", exact=True).check()
        page.get_by_role("button", name="Add webhook").click()
        receiver.secret = page.locator("[data-secret]").inner_text().strip()
        assert re.fullmatch(r"whsec_\S+", receiver.secret)

        server.api("POST", f"/v1/tenants/{tenant}/access-requests", server.token("staff", "sam"),
                   ACCESS)
        delivered = receiver.wait_for(1)[0]
        row = page.locator(f"#delivery-{delivered.headers['webhook-id']}")
        for _ in range(100):  # the attempt is recorded just after the receiver answered
            page.goto(server.url + "/portal/webhooks")
            if row.count() and "delivered" in row.inner_text():
                break
        page.screenshot(path=str(screenshot_dir / "portal-notifications.png"), full_page=True)
        assert "204" in row.inner_text()
        row.get_by_role("button", name="Redeliver").click()
        page.wait_for_selector("text=will be sent again")
        again = receiver.wait_for(2)[1]
        assert again.headers["webhook-id"] == delivered.headers["webhook-id"] and receiver.verified
    assert page.locator("[data-secret]").count() == 0  # shown once, never again
    page.close()
