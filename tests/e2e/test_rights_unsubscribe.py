"""One-click unsubscribe through the HTTP API, as a mail client and a person use it: no token,
GET only shows a page, POST withdraws once, a forged link and an erased person's link are 404.

The journey runs on SQLite and PostgreSQL (`api`); the rest on SQLite (`sqlite_api`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Api, created, fields_named, ok, problem

GIVEN = {"status": "given", "channel": "email", "notice_version": "2026-01",
         "method": "double_opt_in"}


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def subscribed(api: Api, *purposes: str) -> str:
    system = api.user("system", "crm")
    subject = created(system.post(
        "/v1/subjects", json={"name": "Zoë Jansen", "email": "zoe@example.org"}
    ))["id"]
    for purpose in purposes:
        ok(system.put(f"/v1/subjects/{subject}/consents/{purpose}", json=GIVEN))
    return subject


def link(api: Api, subject: str, purpose: str = "info_mail") -> str:
    """The path of a freshly minted link (the URL itself lives under LEDGER_PUBLIC_URL)."""
    minted = created(api.user("system", "crm").post(
        f"/v1/subjects/{subject}/unsubscribe-links", json={"purpose": purpose, "channel": "email"}
    ))
    assert minted["headers"] == {
        "List-Unsubscribe": f"<{minted['url']}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert minted["url"].startswith(api.settings.public_url.rstrip("/") + "/v1/unsubscribe/")
    return urlsplit(minted["url"]).path


def allowed(api: Api, subject: str, purpose: str) -> bool:
    api.caught_up(api.events())
    return ok(api.user("system", "crm").get(
        f"/v1/subjects/{subject}/consents/{purpose}", params={"channel": "email"}
    ))["allowed"]


def test_the_one_click_journey_needs_no_login_and_withdraws_that_purpose_only(api: Api) -> None:
    subject = subscribed(api, "info_mail", "blog_mail")
    path = link(api, subject)
    nobody = api.anonymous()
    events = api.events()

    page = nobody.get(path)  # a link scanner, or the person opening the link
    assert page.status_code == 200 and 'method="post"' in page.text and "Unsubscribe" in page.text
    assert api.events() == events and allowed(api, subject, "info_mail")

    clicked = nobody.post(path, data={"List-Unsubscribe": "One-Click"})  # as RFC 8058 sends it

    assert clicked.status_code == 200 and "You are unsubscribed" in clicked.text
    assert clicked.headers["cache-control"] == "no-store"
    assert clicked.headers["referrer-policy"] == "no-referrer"
    assert not allowed(api, subject, "info_mail") and allowed(api, subject, "blog_mail")
    receipts = ok(api.user("officer", "olga").get(
        f"/v1/subjects/{subject}/consent-receipts", params={"purpose": "info_mail"}
    ))["items"]
    assert [(r["state"], r["method"], r["notice_version"]) for r in receipts] == [
        ("given", "double_opt_in", "2026-01"), ("withdrawn", "unsubscribe_link", "2026-01"),
    ]


def test_a_second_click_answers_the_same_and_records_nothing(sqlite_api: Api) -> None:
    api = sqlite_api
    subject = subscribed(api, "product_mail")
    path = link(api, subject, "product_mail")
    nobody = api.anonymous()

    first = nobody.post(path)  # an empty body works too
    events = api.events()
    second = nobody.post(path, data={"List-Unsubscribe": "One-Click"})

    assert first.status_code == second.status_code == 200
    assert "x-ledger-position" in first.headers and "x-ledger-position" not in second.headers
    assert api.events() == events
    history = ok(api.user("officer", "olga").get(
        f"/v1/subjects/{subject}/history", params={"reason": "an unsubscribe complaint"}
    ))["items"]
    assert [e["event"] for e in history].count("ConsentWithdrawn") == 1


def test_a_forged_or_altered_link_is_404_and_changes_nothing(sqlite_api: Api) -> None:
    api = sqlite_api
    subject = subscribed(api, "info_mail")
    path = link(api, subject)
    token = path.rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    other = link(api, subject, "profiling").rsplit("/", 1)[1]  # as long: same-length purposes
    spliced = token[:-22] + other[-22:]  # this link's purpose under another link's tag
    nobody = api.anonymous()
    events = api.events()

    for forged in (flipped, token[:-1], token + "A", spliced, "not-a-token", "A" * 600):
        problem(nobody.post(f"/v1/unsubscribe/{forged}"), 404)
        problem(nobody.get(f"/v1/unsubscribe/{forged}"), 404)

    assert api.events() == events and allowed(api, subject, "info_mail")


def test_after_erasure_the_link_is_404_like_a_forged_one(sqlite_api: Api) -> None:
    api = sqlite_api
    subject = subscribed(api, "info_mail")
    path = link(api, subject)
    officer = api.user("officer", "olga")
    erasure = created(officer.post(f"/v1/subjects/{subject}/requests",
                                   json={"kind": "erasure", "channel": "email"}))["id"]
    ok(officer.post(f"/v1/requests/{erasure}/verify-identity", json={"method": "passport"}))
    ok(officer.post(f"/v1/requests/{erasure}/fulfil"))
    events = api.events()

    forged = problem(api.anonymous().post(path[:-2] + "AA"), 404)
    assert problem(api.anonymous().post(path), 404)["detail"] == forged["detail"]
    problem(api.anonymous().get(path), 404)
    assert api.events() == events
    problem(api.user("system", "crm").post(  # and no new link for someone who is gone
        f"/v1/subjects/{subject}/unsubscribe-links", json={"purpose": "info_mail"}
    ), 409)


def test_minting_needs_a_known_subject_and_purpose_and_the_rest_stays_protected(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    subject = subscribed(api, "info_mail")
    system = api.user("system", "crm")
    assert fields_named(system.post(
        f"/v1/subjects/{subject}/unsubscribe-links", json={"purpose": "spam"}
    )) == {"purpose"}
    problem(system.post("/v1/subjects/00000000-0000-4000-8000-000000000000/unsubscribe-links",
                        json={"purpose": "info_mail"}), 404)
    # Only the link itself is open to anyone: minting one, or consent, still needs a token.
    problem(api.anonymous().post(f"/v1/subjects/{subject}/unsubscribe-links",
                                 json={"purpose": "info_mail"}), 401)
    problem(api.anonymous().put(f"/v1/subjects/{subject}/consents/info_mail",
                                json={"status": "withdrawn", "method": "web_form"}), 401)
    problem(api.anonymous().get("/v1/unsubscribe"), 404)


def test_a_link_for_a_consent_never_given_answers_unsubscribed_and_records_nothing(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    subject = subscribed(api)
    path = link(api, subject, "market_research")
    events = api.events()
    response = api.anonymous().post(path)
    assert response.status_code == 200 and "You are unsubscribed" in response.text
    assert api.events() == events
