"""The vendor's systems through HTTP on every store: an officer registers and retires them, a
system hears the consent changes of its purposes and confirms each once, and sees only its own
propagations."""

from __future__ import annotations

from api.notifications.targets import SETTING
from tests.e2e.conftest import Api, fields_named, ok, problem
from tests.e2e import propagation_support
from tests.e2e.propagation_support import register, subject
from tests.webhook_receiver import WebhookReceiver

# The fixtures these tests take (tests/e2e/propagation_support.py).
outbox_api, receivers = propagation_support.outbox_api, propagation_support.receivers

GIVEN = {"status": "given", "notice_version": "2026-01", "method": "web_form"}


def test_a_system_to_a_private_address_or_of_a_kind_not_propagated_is_refused(
    outbox_api: Api,
) -> None:
    officer = outbox_api.user("officer", "olga")
    described = {"name": "CRM", "actor": "crm", "kinds": ["erasure"]}

    refused = problem(officer.post("/v1/systems", json={**described, "url": "http://10.0.0.7/hook"}), 422)
    assert refused["errors"][0]["field"] == "url" and SETTING in refused["detail"]
    assert fields_named(officer.post("/v1/systems", json={
        **described, "url": "https://crm.example.org/hook", "kinds": ["access"]})) == {"kinds.0"}
    assert fields_named(officer.post("/v1/systems", json={
        **described, "url": "https://crm.example.org/hook", "purposes": ["spam"]})) == {"purposes.0"}
    assert ok(officer.get("/v1/systems"))["items"] == []


def test_registering_a_system_refuses_an_idempotency_key_rather_than_keep_its_secret(
    outbox_api: Api,
) -> None:
    """A replayable answer would keep the signing secret in the database for a day."""
    officer = outbox_api.user("officer", "olga")
    response = officer.post("/v1/systems", headers={"Idempotency-Key": "first-try"}, json={
        "name": "CRM", "actor": "crm", "kinds": ["erasure"], "url": "https://crm.example.org/h",
    })
    assert fields_named(response) == {"Idempotency-Key"}
    assert ok(officer.get("/v1/systems"))["items"] == []


def test_an_officer_registers_lists_and_retires_a_system(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm", purposes=["info_mail"])
    taken = problem(officer.post("/v1/systems", json={
        "name": "CRM 2", "url": crm.receiver.url, "actor": "crm", "kinds": ["erasure"]}), 409)
    assert "crm already confirms for the system CRM" in taken["detail"]

    listed = ok(officer.get("/v1/systems"))["items"]
    assert [(s["id"], s["name"], s["actor"], s["status"]) for s in listed] == [
        (crm.id, "CRM", "crm", "active")]
    assert "secret" not in listed[0], "the secret is shown once, when it is made"
    shown = ok(officer.get(f"/v1/systems/{crm.id}"))
    assert (shown["purposes"], shown["kinds"]) == (["info_mail"], ["erasure", "rectification"])
    problem(api.user("system", "crm").get("/v1/systems"), 403)

    retired = ok(officer.request("DELETE", f"/v1/systems/{crm.id}"))
    assert retired["status"] == "retired" and retired["retired_at"] is not None
    subscription = api.app.state.container.subscriptions().get(retired["subscription_id"])
    assert subscription is not None and not subscription.active
    problem(officer.get(f"/v1/systems/{'0' * 8}-0000-4000-8000-{'0' * 12}"), 404)


def test_a_consent_change_reaches_the_system_of_its_purpose_which_confirms_it_once(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm", purposes=["info_mail"])
    analytics = register(api, receivers, "Analytics", "analytics", purposes=["analytics_cookies"])
    subject_id = subject(api)

    ok(api.user("system", "app").put(f"/v1/subjects/{subject_id}/consents/info_mail", json=GIVEN))
    delivery = crm.told("consent.changed")
    data = delivery.payload["data"]
    assert (data["subject_id"], data["purpose"], data["status"]) == (subject_id, "info_mail", "given")
    propagation_id = data["propagation_id"]

    problem(analytics.user.post(f"/v1/propagations/{propagation_id}/confirm"), 404)
    problem(analytics.user.get(f"/v1/propagations/{propagation_id}"), 404)
    problem(crm.user.post("/v1/propagations/msg_nothing/confirm"), 404)
    problem(api.user("system", "stranger").post(f"/v1/propagations/{propagation_id}/confirm"), 404)
    assert ok(officer.get(f"/v1/propagations/{propagation_id}"))["status"] == "pending"

    confirmed = ok(crm.user.post(f"/v1/propagations/{propagation_id}/confirm"))
    assert (confirmed["status"], confirmed["subject_id"], confirmed["request_id"]) == (
        "confirmed", subject_id, None)
    events = api.events()
    assert ok(crm.user.post(f"/v1/propagations/{propagation_id}/confirm"))["status"] == "confirmed"
    assert api.events() == events
    assert ok(crm.user.get(f"/v1/propagations/{propagation_id}"))["status"] == "confirmed"
    history = ok(officer.get(f"/v1/subjects/{subject_id}/history", params={"reason": "check"}))
    assert [e["event"] for e in history["items"]][-1] == "PropagationConfirmed"

    problem(crm.user.post(f"/v1/propagations/{propagation_id}/failure",
                          json={"reason": "cannot"}), 409)
    assert analytics.receiver.requests == [], "analytics_cookies did not change"


def test_a_retired_system_confirms_nothing_more(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm", purposes=["info_mail"])
    subject_id = subject(api)
    ok(api.user("system", "app").put(f"/v1/subjects/{subject_id}/consents/info_mail", json=GIVEN))
    propagation_id = crm.told("consent.changed").payload["data"]["propagation_id"]

    ok(officer.request("DELETE", f"/v1/systems/{crm.id}"))

    problem(crm.user.post(f"/v1/propagations/{propagation_id}/confirm"), 404)
    assert ok(officer.get(f"/v1/propagations/{propagation_id}"))["status"] == "pending"
