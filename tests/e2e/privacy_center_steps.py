"""What a person does in the privacy center, as steps over HTTP for the e2e tests
(tests/e2e/test_privacy_center_*.py): ask for a link, read it from the mail, open it,
continue; and the form tokens each page carries."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, open_api
from tests.smtp_server import SmtpServer

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_LINK = re.compile(r"(http://testserver/privacy-center/open\?\S+)")


def center_settings(database_url: str, folder: Path, smtp: SmtpServer | None, **more: object) -> Settings:
    # http://testserver: the TestClient's own address, so the mailed link is usable as it is
    # and cookies are not Secure (the client would not send them over http).
    return make_settings(
        database_url, folder, public_url="http://testserver", poll_interval_ms=20,
        smtp_url=smtp.url if smtp else None, mail_from="privacy@vendor.example",
        **more,
    )


def center_api(
    settings: Settings, tmp_path: Path, clock: MovableClock, smtp: SmtpServer | None, **more: object
) -> Iterator[Api]:
    yield from open_api(center_settings(settings.database_url, tmp_path / "var", smtp, **more), clock)


def token_of(page: str) -> str:
    found = _TOKEN.search(page)
    assert found, page
    return html.unescape(found.group(1))


def ask_for_link(client: TestClient, email: str, lang: str = "en") -> httpx.Response:
    page = client.get("/privacy-center", params={"lang": lang})
    assert page.status_code == 200, page.text
    return client.post("/privacy-center/sign-in", data={
        "email": email, "csrf_token": token_of(page.text), "lang": lang,
    })


def link_in(message: EmailMessage) -> str:
    text = message.get_body(("plain",)).get_content()
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


def mailed_link(client: TestClient, smtp: SmtpServer, email: str, lang: str = "en") -> str:
    before = len(smtp.messages)
    assert ask_for_link(client, email, lang).status_code == 200
    return link_in(smtp.wait_for(before + 1)[before])


def continue_with(client: TestClient, link: str) -> httpx.Response:
    """Opens the link (GET: the Continue button) and presses Continue (POST)."""
    shown = client.get(link)
    if shown.status_code != 200:
        return shown
    sealed = re.search(r'name="link" value="([^"]+)"', shown.text)
    assert sealed, shown.text
    lang = re.search(r'name="lang" value="([a-z]+)"', shown.text)
    return client.post("/privacy-center/open", data={
        "link": html.unescape(sealed.group(1)), "csrf_token": token_of(shown.text),
        "lang": lang.group(1) if lang else "en",
    })


def signed_in(client: TestClient, smtp: SmtpServer, email: str, lang: str = "en") -> str:
    """The person's page after the whole sign-in; answers its HTML."""
    spent = continue_with(client, mailed_link(client, smtp, email, lang))
    assert spent.status_code == 200 and "/privacy-center/me" in str(spent.url), spent.text
    return spent.text
