"""A person in Chromium with a real SMTP server: asks for a link, reads it from the mail,
opens it and continues, changes a consent, downloads their export (the ledger records the
delivery of those very bytes), requests erasure and sees its due date; the link a second time
is refused; an unknown address sees the same page as a known one. Screenshots land in
test-output/screenshots/ (privacy-center-sign-in.png, privacy-center.png, privacy-center-nl.png)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveServer, free_port, running_ledger
from tests.conftest import make_settings
from tests.smtp_server import SmtpServer

READ_SIDE_SECONDS = 10

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("privacy-center-server")
    port = free_port()
    settings = make_settings(
        f"sqlite:///{base}/ledger.sqlite", base / "var", public_url=f"http://127.0.0.1:{port}",
        smtp_url=smtp.url, mail_from="privacy@vendor.example", privacy_notice_version="2026-03",
        controller_name="Voorbeeld B.V.",
    )
    with running_ledger(settings, port):
        yield LiveServer(f"http://127.0.0.1:{port}", settings)


def _link(message: Any) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(r"(http://127\.0\.0\.1:\d+/privacy-center/open\?\S+)", text)
    assert found, text
    return found.group(1)


def _sent_page(page: Any) -> str:
    """What the person sees after asking for a link (the form tokens are hidden inputs)."""
    return page.locator("main").inner_text()


def test_a_person_manages_their_data_in_the_privacy_center_in_a_browser(
    chromium: Any, server: LiveServer, smtp: SmtpServer, screenshot_dir: Path,
) -> None:
    officer = server.token("officer", "olga")
    tenant = server.api("POST", "/v1/tenants", officer, {"name": "Webwinkel B.V."}).json()["id"]
    subject = server.api("POST", "/v1/subjects", officer, {
        "tenant_id": tenant, "name": "Jan Jansen", "email": "jan@example.org",
    }).json()["id"]
    server.api("PUT", f"/v1/subjects/{subject}/consents/info_mail", officer, {
        "status": "given", "notice_version": "2026-01", "method": "checkbox",
    })
    page = chromium.new_page()

    page.goto(server.url + "/privacy-center")
    page.screenshot(path=str(screenshot_dir / "privacy-center-sign-in.png"), full_page=True)
    page.get_by_label("E-mail address").fill("jan@example.org")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_selector("#sent")
    known = _sent_page(page)
    link = _link(smtp.wait_for(1)[0])

    page.goto(link)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_selector(f"#record-{subject}")

    row = page.locator("tr[data-purpose='product_mail']")
    row.get_by_role("button", name="Give").click()
    page.wait_for_selector("text=Your choice was recorded.")
    assert page.locator("tr[data-purpose='product_mail'] .consent-status").get_attribute(
        "data-status") == "given"

    page.get_by_label("Format").select_option("xlsx")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    content = Path(download.value.path()).read_bytes()
    assert content[:2] == b"PK"  # an xlsx workbook is a zip
    # The request is recorded fulfilled as the file is delivered; the officer's list is the
    # read side, which follows a moment later (the download carries no position to wait for).
    fulfilled = _fulfilled_requests(server, officer)
    assert [r["delivery_sha256"] for r in fulfilled] == [hashlib.sha256(content).hexdigest()]

    page.get_by_label("Request", exact=True).select_option("erasure")
    page.get_by_label("Details (optional)").fill("Please erase everything about me.")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_selector("text=Your request was received")
    due = page.locator("tr[data-kind='erasure'] .due").inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", due)
    page.screenshot(path=str(screenshot_dir / "privacy-center.png"), full_page=True)

    page.get_by_role("link", name="Nederlands").click()
    page.wait_for_selector("text=Uw toestemmingen")
    page.screenshot(path=str(screenshot_dir / "privacy-center-nl.png"), full_page=True)

    again = page.goto(link)
    assert again is not None and again.status == 410
    assert "al gebruikt" in page.inner_text("main") or "used already" in page.inner_text("main")
    page.close()

    stranger = chromium.new_page()
    stranger.goto(server.url + "/privacy-center")
    stranger.get_by_label("E-mail address").fill("nobody@example.org")
    stranger.get_by_role("button", name="Send me a link").click()
    stranger.wait_for_selector("#sent")
    assert _sent_page(stranger) == known
    stranger.close()
    assert len(smtp.messages) == 1  # nothing was mailed to the unknown address
    assert httpx.get(server.url + "/privacy-center/me", follow_redirects=False).status_code == 303


def _fulfilled_requests(server: LiveServer, officer: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + READ_SIDE_SECONDS
    while True:
        items = server.api("GET", "/v1/requests?status=fulfilled", officer).json()["items"]
        if items or time.monotonic() > deadline:
            return items
        time.sleep(0.05)
