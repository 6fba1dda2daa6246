"""A customer admin uses the portal in Chromium, while staff and officers use the HTTP API.

One story from start to finish: log in by pasting a token, approve a request for less time
than asked, watch staff's access appear in the log and in the CSV, and see that another
tenant's admin sees none of it and that a form posted without its CSRF token does nothing.
A screenshot of every page lands in test-output/screenshots/.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer

pytestmark = pytest.mark.browser

STAFF, CUSTOMER, OTHER_CUSTOMER = "stanley.support", "carla.admin", "gina.admin"


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code < 300, (response.status_code, response.text)
    return response.json()


def _caught_up(server: LiveServer, position: int) -> None:
    """Read-your-writes through the API's contract, before the browser looks."""
    _ok(server.api("GET", f"/v1/requests?min_position={position}", server.token("officer", "olga")))


def _tenant(server: LiveServer, name: str) -> str:
    return _ok(server.api("POST", "/v1/tenants", server.token("officer", "olga"), {"name": name}))["id"]


def _log_in(page: Any, server: LiveServer, token: str) -> None:
    page.goto(server.url + "/portal")
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("text=Signed in as")


def test_a_customer_admin_decides_on_access_and_reads_the_log_in_a_browser(
    chromium: Any, live_server: LiveServer, screenshot_dir: Path, tmp_path: Path
) -> None:
    server = live_server
    acme, globex = _tenant(server, "Acme"), _tenant(server, "Globex")
    staff = server.token("staff", STAFF)
    asked = _ok(server.api("POST", f"/v1/tenants/{acme}/access-requests", staff, {
        "scope": "read", "resources": ["orders", "invoices"],
        "reason": "Ticket 4711: the invoice totals look wrong", "ticket": "T-4711",
        "duration_minutes": 120,
    }))
    untouched = _ok(server.api("POST", f"/v1/tenants/{acme}/access-requests", staff, {
        "scope": "export", "resources": ["customers"], "reason": "Migration check",
        "duration_minutes": 60,
    }))
    _caught_up(server, untouched["position"])

    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()

    # Log in by pasting a token.
    page.goto(server.url + "/portal")
    page.screenshot(path=str(screenshot_dir / "portal-login.png"), full_page=True)
    _log_in(page, server, server.token("customer", CUSTOMER, acme))

    # The request made through the API is there, with what was asked for.
    card = page.locator(f"#request-{asked['id']}")
    card.wait_for()
    for fact in (STAFF, "orders", "invoices", "Ticket 4711", "T-4711", "120 minutes"):
        assert fact in card.inner_text()
    page.screenshot(path=str(screenshot_dir / "portal-requests.png"), full_page=True)

    # Approve it for 30 minutes instead of 120.
    card.get_by_text("Narrow before approving").click()
    card.get_by_label("Duration in minutes").fill("30")
    card.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=The request was approved.")
    grant = page.locator(f"#grant-{asked['id']}")
    assert CUSTOMER in grant.inner_text()
    state = _ok(server.api("GET", f"/v1/access-requests/{asked['id']}", staff))
    valid_until = datetime.fromisoformat(state["valid_until"])
    assert state["status"] == "approved"
    assert valid_until <= datetime.now(timezone.utc) + timedelta(minutes=30)
    assert valid_until > datetime.now(timezone.utc) + timedelta(minutes=20)
    page.screenshot(path=str(screenshot_dir / "portal-approved.png"), full_page=True)

    # Staff use the grant through the API; the access shows in the log.
    used = _ok(server.api("POST", f"/v1/access-requests/{asked['id']}/accesses", staff,
                          {"resource": "orders/17", "action": "read"}))
    _caught_up(server, used["position"])
    page.get_by_role("link", name="Access log").click()
    row = page.locator("table.log tbody tr", has_text="orders/17")
    assert STAFF in row.inner_text() and "allowed" in row.inner_text()
    assert "1 allowed, 0 refused" in page.locator("svg.chart").inner_html()
    page.screenshot(path=str(screenshot_dir / "portal-log.png"), full_page=True)

    # The CSV download holds it.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "access-log.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert any(
        r["resource"] == "orders/17" and r["actor"] == STAFF and r["outcome"] == "allowed"
        and r["request_id"] == asked["id"] for r in rows
    )

    page.get_by_role("link", name="Incidents & disclosures").click()
    page.wait_for_selector("h1:has-text('Incidents and disclosures')")
    page.screenshot(path=str(screenshot_dir / "portal-incidents.png"), full_page=True)

    # A form posted without the CSRF token does nothing, even from the portal's own origin.
    page.goto(server.url + "/portal")
    page.evaluate(
        """id => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = `/portal/requests/${id}/deny`;
            const reason = document.createElement('input');
            reason.name = 'reason'; reason.value = 'forged';
            form.appendChild(reason);
            document.body.appendChild(form);
            form.submit();
        }""",
        untouched["id"],
    )
    page.wait_for_selector("text=security token is missing or wrong")
    page.screenshot(path=str(screenshot_dir / "portal-refused.png"), full_page=True)
    assert _ok(server.api("GET", f"/v1/access-requests/{untouched['id']}", staff))["status"] == "pending"

    # Another tenant's admin, in another browser, sees none of it.
    other = chromium.new_context(viewport={"width": 390, "height": 844})
    phone = other.new_page()
    _log_in(phone, server, server.token("customer", OTHER_CUSTOMER, globex))
    for path in ("/portal", "/portal/log", "/portal/incidents"):
        phone.goto(server.url + path)
        text = phone.content()
        assert asked["id"] not in text and untouched["id"] not in text
        assert "orders/17" not in text and STAFF not in text
    phone.goto(server.url + "/portal")
    phone.screenshot(path=str(screenshot_dir / "portal-other-tenant-phone.png"), full_page=True)
    other.close()
    context.close()


def test_a_form_posted_from_another_site_carries_no_session_and_changes_nothing(
    chromium: Any, live_server: LiveServer, screenshot_dir: Path
) -> None:
    """SameSite=Strict: a page on another site that posts to the portal sends no cookie."""
    server = live_server
    acme = _tenant(server, "Initech")
    staff = server.token("staff", STAFF)
    asked = _ok(server.api("POST", f"/v1/tenants/{acme}/access-requests", staff, {
        "scope": "read", "resources": ["orders"], "reason": "Check", "duration_minutes": 30,
    }))
    _caught_up(server, asked["position"])
    context = chromium.new_context()
    page = context.new_page()
    _log_in(page, server, server.token("customer", CUSTOMER, acme))
    evil = "http://evil.example/"
    context.route(evil, lambda route: route.fulfill(content_type="text/html", body=f"""
        <form method="post" action="{server.url}/portal/requests/{asked['id']}/approve">
          <input name="csrf_token" value="guessed"><button id="go">Win a prize</button>
        </form>"""))
    page.goto(evil)
    page.click("#go")
    page.wait_for_selector("text=Nothing was done")
    page.screenshot(path=str(screenshot_dir / "portal-cross-site-refused.png"), full_page=True)
    assert _ok(server.api("GET", f"/v1/access-requests/{asked['id']}", staff))["status"] == "pending"
    context.close()
