"""/privacy: the controller's notice, open to anyone, and where every consent receipt points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from domain.clock import MovableClock
from domain.vocabulary import Purpose
from tests.conftest import make_settings
from tests.e2e.conftest import Api, created, ok, open_api


@pytest.fixture
def notice_api(tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var",
        controller_name="Voorbeeld B.V.", controller_contact="privacy@voorbeeld.nl",
        jurisdiction="NL",
    )
    yield from open_api(settings, clock)


def test_the_privacy_notice_names_the_controller_the_purposes_and_the_rights_without_a_token(
    notice_api: Api,
) -> None:
    response = notice_api.anonymous().get("/privacy")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "Voorbeeld B.V." in page and "mailto:privacy@voorbeeld.nl" in page and "NL" in page
    for purpose in Purpose:
        assert f"<code>{purpose.value}</code>" in page, purpose
    for right in ("access, Art. 15", "rectification, Art. 16", "erasure, Art. 17",
                  "portability, Art. 20", "Art. 21", "Art. 7(3)"):
        assert right in page, right
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_the_controllers_details_are_escaped_on_the_page(tmp_path: Path, clock: MovableClock) -> None:
    settings = make_settings("memory://", tmp_path / "var", controller_name="<script>x</script>")
    for api in open_api(settings, clock):
        page = api.anonymous().get("/privacy").text
        assert "<script>" not in page and "&lt;script&gt;" in page


def test_with_a_published_notice_privacy_redirects_there(tmp_path: Path, clock: MovableClock) -> None:
    settings = make_settings(
        "memory://", tmp_path / "var", privacy_notice_url="https://vendor.example/privacy"
    )
    for api in open_api(settings, clock):
        response = api.anonymous().get("/privacy", follow_redirects=False)
        assert response.status_code == 307
        assert response.headers["location"] == "https://vendor.example/privacy"


def test_the_notice_link_on_a_consent_receipt_resolves(notice_api: Api) -> None:
    api = notice_api
    officer = api.user("officer", "olga")
    subject = created(officer.post("/v1/subjects", json={"name": "Jan", "email": "jan@example.org"}))
    ok(officer.put(f"/v1/subjects/{subject['id']}/consents/info_mail", json={
        "status": "given", "notice_version": "2026-01", "method": "web_form",
    }))

    receipts = ok(officer.get(f"/v1/subjects/{subject['id']}/consent-receipts"))
    notice = receipts["items"][0]["notice"]

    assert notice == f"{api.settings.public_url}/privacy"
    page = api.anonymous().get(urlsplit(notice).path)
    assert page.status_code == 200 and "Voorbeeld B.V." in page.text


def test_the_notice_shows_its_version_and_leads_to_the_privacy_center(
    tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings("memory://", tmp_path / "var", privacy_notice_version="2026-03")
    for api in open_api(settings, clock):
        page = api.anonymous().get("/privacy").text
        assert "Version <strong>2026-03</strong>" in page
        assert 'href="/privacy-center"' in page and 'href="/privacy-center?lang=nl"' in page
        assert api.anonymous().get("/privacy-center").status_code == 200
