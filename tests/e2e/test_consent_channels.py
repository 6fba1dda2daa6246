"""Consent per purpose and channel through the HTTP API (DESIGN.md §6), on every store."""

from __future__ import annotations

from tests.e2e.conftest import Api, created, fields_named, ok

GIVE = {"status": "given", "notice_version": "2026-01", "method": "web_form"}


def _subject(api: Api) -> str:
    return created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": "Zoë", "email": "zoe@example.org"}))["id"]


def test_giving_email_and_withdrawing_sms_leaves_the_email_check_allowed(api: Api) -> None:
    system = api.user("system", "crm")
    path = f"/v1/subjects/{_subject(api)}/consents/info_mail"
    ok(system.put(path, json={**GIVE, "channel": "email"}))
    ok(system.put(path, json={"status": "withdrawn", "method": "sms", "channel": "sms"}))

    email = ok(system.get(path, params={"channel": "email"}))
    sms = ok(system.get(path, params={"channel": "sms"}))
    everywhere = ok(system.get(path))

    assert (email["allowed"], email["channel"], email["decided_for"]) == (True, "email", "email")
    assert (sms["allowed"], sms["status"], sms["reason"]) == (False, "withdrawn", "consent was withdrawn")
    assert everywhere["allowed"] is False and everywhere["channel"] is None
    assert everywhere["channels"]["email"]["allowed"] is True
    assert everywhere["channels"]["post"] == {**everywhere["channels"]["post"], "allowed": False,
                                              "reason": "consent was never given"}


def test_a_decision_without_a_channel_is_for_every_channel_and_the_profile_shows_each(api: Api) -> None:
    system, officer = api.user("system", "crm"), api.user("officer", "olga")
    subject = _subject(api)
    path = f"/v1/subjects/{subject}/consents/product_mail"
    ok(system.put(path, json=GIVE))
    last = ok(system.put(path, json={"status": "withdrawn", "method": "phone", "channel": "phone"}))

    assert ok(system.get(path, params={"channel": "post"}))["allowed"] is True
    assert ok(system.get(path, params={"channel": "phone"}))["allowed"] is False
    profile = ok(officer.get(f"/v1/subjects/{subject}", params={
        "min_position": last["position"], "reason": "checking consent"}))
    product = profile["consents"]["product_mail"]
    assert (product["status"], product["channel"]) == ("withdrawn", "phone")
    assert product["channels"]["phone"]["status"] == "withdrawn"
    assert product["channels"]["email"] == {**product["channels"]["email"], "status": "given",
                                            "channel": None}


def test_an_unknown_channel_is_refused_by_name(api: Api) -> None:
    system = api.user("system", "crm")
    path = f"/v1/subjects/{_subject(api)}/consents/info_mail"
    assert fields_named(system.get(path, params={"channel": "pigeon"})) == {"channel"}
    assert fields_named(system.put(path, json={**GIVE, "channel": "pigeon"})) == {"channel"}


def test_the_batch_records_each_decision_for_its_channel(api: Api) -> None:
    system = api.user("system", "crm")
    subject = _subject(api)
    batch = ok(system.post("/v1/consents:batch", json={"decisions": [
        {"subject_id": subject, "purpose": "blog_mail", **GIVE},
        {"subject_id": subject, "purpose": "blog_mail", "status": "withdrawn",
         "method": "import", "channel": "sms"},
    ]}))
    path = f"/v1/subjects/{subject}/consents/blog_mail"
    at = {"min_position": batch["position"]}
    assert ok(system.get(path, params={**at, "channel": "email"}))["allowed"] is True
    assert ok(system.get(path, params={**at, "channel": "sms"}))["allowed"] is False
    receipts = ok(api.user("officer", "olga").get(f"/v1/subjects/{subject}/consent-receipts"))
    assert [r["channel"] for r in receipts["items"]] == [None, "sms"]
