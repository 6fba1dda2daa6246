"""Signing in to the privacy center by e-mail, over HTTP on every store, with a real SMTP
server: the link is mailed to a known address and works once; an unknown address gets the
same page and no mail; expired, altered, forged and replayed links are refused and record
nothing; floods are refused with 429; without a mail server the page says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.settings import Settings
from domain.clock import MovableClock
from tests.e2e.conftest import Api
from tests.e2e.privacy_center_steps import (
    ask_for_link,
    center_api,
    continue_with,
    link_in,
    mailed_link,
    signed_in,
    token_of,
)
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def center(settings: Settings, tmp_path: Path, clock: MovableClock, smtp: SmtpServer) -> Iterator[Api]:
    yield from center_api(settings, tmp_path, clock, smtp)


def registered(api: Api, email: str, name: str = "Jan Jansen") -> str:
    outcome = api.ledger.register_subject(name, email, "crm")
    api.caught_up(outcome.position)
    return str(outcome.aggregate.id)


def test_a_known_address_is_mailed_a_link_that_opens_the_center_once(
    center: Api, smtp: SmtpServer
) -> None:
    subject = registered(center, "jan@example.org")

    page = signed_in(center.client, smtp, "JAN@example.org ")

    [mail] = smtp.messages
    assert mail["To"] == "jan@example.org" or "JAN@example.org" in mail["To"]
    assert mail["From"] == "privacy@vendor.example"
    assert mail.get_body(("html",)) is not None and mail["Content-Language"] == "en"
    assert f'value="{subject}"' in page and "Your consents" in page
    second = continue_with(center.client, link_in(mail))
    assert second.status_code == 410 and "used already" in second.text
    assert "Send me a link" in second.text  # and a way to ask for a new one


def test_an_unknown_address_gets_the_same_page_and_no_mail(center: Api, smtp: SmtpServer) -> None:
    registered(center, "jan@example.org")
    events = center.events()

    known = ask_for_link(center.client, "jan@example.org")
    smtp.wait_for(1)
    unknown = ask_for_link(center.client, "nobody@example.org")

    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text  # the form token is the browser's, so even that is alike
    assert len(smtp.messages) == 1 and center.events() == events


def test_the_link_arrives_in_dutch_when_asked_in_dutch(center: Api, smtp: SmtpServer) -> None:
    registered(center, "jan@example.org")

    page = signed_in(center.client, smtp, "jan@example.org", lang="nl")

    [mail] = smtp.messages
    assert mail["Content-Language"] == "nl" and "privacycentrum" in mail["Subject"]
    assert "Uw toestemmingen" in page and 'lang="nl"' in page


def test_an_expired_link_is_refused_and_starts_nothing(center: Api, smtp: SmtpServer, clock: MovableClock) -> None:
    registered(center, "jan@example.org")
    link = mailed_link(center.client, smtp, "jan@example.org")

    clock.move(minutes=15, seconds=1)
    refused = continue_with(center.client, link)

    assert refused.status_code == 410 and "expired" in refused.text
    assert center.client.get("/privacy-center/me", follow_redirects=False).status_code == 303


def test_an_altered_or_forged_link_is_refused_with_400(center: Api, smtp: SmtpServer) -> None:
    registered(center, "jan@example.org")
    link = mailed_link(center.client, smtp, "jan@example.org")
    sealed = re.search(r"link=([^&]+)", link).group(1)  # type: ignore[union-attr]
    altered = sealed[:-3] + ("AAA" if not sealed.endswith("AAA") else "BBB")

    for bad in (altered, "forged", "x" * 9000):
        response = center.client.get("/privacy-center/open", params={"link": bad})
        assert response.status_code == 400 and "not valid" in response.text, bad
    page = center.client.get("/privacy-center")
    spent = center.client.post("/privacy-center/open", data={
        "link": altered, "csrf_token": token_of(page.text),
    })
    assert spent.status_code == 400
    assert center.client.get("/privacy-center/me", follow_redirects=False).status_code == 303


def test_a_portal_login_link_does_not_open_the_center(center: Api) -> None:
    from api.portal.login_links import mint_login_link

    portal = mint_login_link(center.settings, center.token("customer", "carla", "0" * 32))
    sealed = re.search(r"link=([^&]+)", portal).group(1)  # type: ignore[union-attr]

    assert center.client.get("/privacy-center/open", params={"link": sealed}).status_code == 400


def test_a_sign_in_without_its_form_token_is_refused_and_nothing_is_mailed(
    center: Api, smtp: SmtpServer
) -> None:
    registered(center, "jan@example.org")

    response = center.client.post("/privacy-center/sign-in", data={"email": "jan@example.org"})

    assert response.status_code == 403
    assert "nothing was done" in response.text and smtp.messages == []


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "jan@exam ple.org", "x" * 250 + "@example.org", ""])
def test_a_malformed_email_is_refused_naming_the_field(center: Api, smtp: SmtpServer, email: str) -> None:
    response = ask_for_link(center.client, email)

    assert response.status_code == 422 and "(email)" in response.text
    assert smtp.messages == []


def test_too_many_links_for_one_address_are_refused_alike_for_known_and_unknown(
    center: Api, smtp: SmtpServer
) -> None:
    registered(center, "jan@example.org")
    for email in ("jan@example.org", "nobody@example.org"):
        answers = [ask_for_link(center.client, email) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429], email
        assert int(answers[-1].headers["retry-after"]) > 0
    assert len(smtp.wait_for(3)) == 3
    assert len(smtp.messages) == 3  # the refused fourth mailed nothing


def test_too_many_sign_ins_from_one_client_are_refused(
    settings: Settings, tmp_path: Path, clock: MovableClock, smtp: SmtpServer
) -> None:
    for api in center_api(settings, tmp_path, clock, smtp, privacy_center_sign_ins_per_address=2):
        answers = [ask_for_link(api.client, f"p{i}@example.org").status_code for i in range(3)]
        assert answers == [200, 200, 429]


def test_without_a_mail_server_the_center_says_sign_in_is_not_available(
    settings: Settings, tmp_path: Path, clock: MovableClock
) -> None:
    for api in center_api(settings, tmp_path, clock, None):
        registered(api, "jan@example.org")
        page = api.client.get("/privacy-center")
        assert "not available here" in page.text and 'name="email"' not in page.text
        known = api.client.post("/privacy-center/sign-in", data={"email": "jan@example.org"})
        unknown = api.client.post("/privacy-center/sign-in", data={"email": "no@example.org"})
        assert known.status_code == unknown.status_code == 200
        assert known.text == unknown.text


def test_signing_out_ends_the_session(center: Api, smtp: SmtpServer) -> None:
    registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")
    cookie = center.client.cookies.get("ledger_privacy_center")

    out = center.client.post("/privacy-center/sign-out", data={"csrf_token": token_of(page)})

    assert out.status_code == 200 and "signed out" in out.text
    center.client.cookies.set("ledger_privacy_center", cookie, path="/privacy-center")
    assert center.client.get("/privacy-center/me", follow_redirects=False).status_code == 303


def test_the_pages_are_not_cached_and_send_no_referrer(center: Api) -> None:
    page = center.client.get("/privacy-center", headers={"Accept-Language": "nl-NL,nl;q=0.9"})

    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in page.headers["content-security-policy"]
    assert 'lang="nl"' in page.text and "Stuur mij een link" in page.text
    assert center.client.get("/privacy-center", params={"next": "x"}).status_code == 422


def test_two_clicks_at_once_spend_a_link_once(center: Api) -> None:
    store = center.app.state.container.privacy_center_sessions()
    now = int(center.ledger.now().timestamp())

    with ThreadPoolExecutor(8) as pool:
        spent = list(pool.map(lambda _: store.spend_link("link-1", now + 900, now), range(8)))

    assert spent.count(True) == 1


def test_a_session_ends_after_its_time_and_then_records_nothing(
    center: Api, smtp: SmtpServer, clock: MovableClock
) -> None:
    subject = registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")
    events = center.events()

    clock.move(minutes=30, seconds=1)
    late = center.client.post("/privacy-center/me/consents", data={
        "csrf_token": token_of(page), "subject_id": subject, "purpose": "info_mail",
        "action": "give",
    })

    assert late.status_code == 401 and "session has ended" in late.text
    assert center.client.get("/privacy-center/me", follow_redirects=False).status_code == 303
    assert center.events() == events


def test_a_privacy_center_session_is_not_a_portal_session(center: Api, smtp: SmtpServer) -> None:
    registered(center, "jan@example.org")
    signed_in(center.client, smtp, "jan@example.org")

    portal = center.client.get("/portal")

    assert "Access token" in portal.text  # the portal's login page: nobody is logged in there
    assert center.client.cookies.get("ledger_portal") is None


def test_every_text_of_the_center_is_written_in_english_and_dutch() -> None:
    from api.privacy_center import texts

    for table in (texts.WORDS, texts.PURPOSES, texts.KINDS, texts.STATUSES, texts.CHANNELS):
        assert set(table) == {"en", "nl"} and set(table["en"]) == set(table["nl"])
    assert texts.language(None, "de-DE,nl;q=0.8") == "nl"
    assert texts.language("xx", "en-GB,nl;q=0.8") == "en"
