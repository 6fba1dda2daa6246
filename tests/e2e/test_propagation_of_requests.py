"""Erasures and rectifications reach the vendor's systems, through HTTP on every store (issue
16): two systems registered; an erasure is fulfilled only after both confirm; one that never
confirms makes the request overdue; an officer may waive it with a reason that is recorded."""

from __future__ import annotations

from typing import Any

from api.services.sweep import sweep
from tests.e2e.conftest import Api, fields_named, ok, problem
from tests.e2e import propagation_support
from tests.e2e.propagation_support import register, subject, verified_request
from tests.webhook_receiver import WebhookReceiver

# The fixtures these tests take (tests/e2e/propagation_support.py).
outbox_api, receivers = propagation_support.outbox_api, propagation_support.receivers


def statuses(view: dict[str, Any]) -> dict[str, str]:
    return {system["name"]: system["status"] for system in view["propagation"]}


def test_an_erasure_is_fulfilled_only_after_both_systems_confirm(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm")
    mail = register(api, receivers, "Mail", "mail", kinds=["erasure"])
    subject_id = subject(api)

    request = verified_request(api, subject_id)
    assert statuses(request) == {"CRM": "pending", "Mail": "pending"}
    told = {system.name: system.told("erasure.requested") for system in (crm, mail)}
    for system, delivery in told.items():
        data = delivery.payload["data"]
        assert (data["request_id"], data["subject_id"]) == (request["id"], subject_id)
        assert data["confirm_url"].endswith(f"/v1/propagations/{data['propagation_id']}/confirm")
        assert "Zoë" not in delivery.body.decode(), "a webhook carries no personal data"
    crm_id = told["CRM"].payload["data"]["propagation_id"]
    mail_id = told["Mail"].payload["data"]["propagation_id"]

    waiting = problem(officer.post(f"/v1/requests/{request['id']}/fulfil"), 409)
    assert "waiting for CRM, Mail to confirm" in waiting["detail"]
    problem(mail.user.post(f"/v1/propagations/{crm_id}/confirm"), 404)  # not Mail's to confirm

    confirmed = ok(crm.user.post(f"/v1/propagations/{crm_id}/confirm"))
    assert (confirmed["status"], confirmed["system_name"]) == ("confirmed", "CRM")
    events = api.events()
    again = ok(crm.user.post(f"/v1/propagations/{crm_id}/confirm"))
    assert again["status"] == "confirmed" and api.events() == events, "no second event"
    assert "waiting for Mail to confirm" in problem(
        officer.post(f"/v1/requests/{request['id']}/fulfil"), 409)["detail"]

    ok(mail.user.post(f"/v1/propagations/{mail_id}/confirm"))
    fulfilled = ok(officer.post(f"/v1/requests/{request['id']}/fulfil"))
    assert fulfilled["status"] == "fulfilled" and fulfilled["waiting_for"] == []

    shown = ok(officer.get(f"/v1/requests/{request['id']}",
                           params={"min_position": fulfilled["position"]}))
    assert statuses(shown) == {"CRM": "confirmed", "Mail": "confirmed"}
    profile = ok(officer.get(f"/v1/subjects/{subject_id}", params={"reason": "check"}))
    assert profile["erased"] is True


def test_a_system_that_never_confirms_makes_the_request_overdue_and_the_view_names_it(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm")
    register(api, receivers, "Mail", "mail")
    request = verified_request(api, subject(api), "rectification")
    crm_id = crm.told("rectification.requested").payload["data"]["propagation_id"]
    ok(crm.user.post(f"/v1/propagations/{crm_id}/confirm"))

    api.clock.move(days=32)
    report = sweep(api.ledger, api.app.state.read)

    assert report.changes >= 1
    overdue = ok(officer.get("/v1/requests", params={"overdue": "true", "min_position": api.events()}))
    [item] = overdue["items"]
    assert (item["id"], item["overdue"], item["status"]) == (request["id"], True, "verified")
    assert [(w["name"], w["status"]) for w in item["waiting_for"]] == [("Mail", "pending")]


def test_an_officer_waives_a_failed_system_with_a_reason_auditors_cannot_read(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api, officer = outbox_api, outbox_api.user("officer", "olga")
    crm = register(api, receivers, "CRM", "crm")
    request = verified_request(api, subject(api), "rectification")
    crm_id = crm.told("rectification.requested").payload["data"]["propagation_id"]

    assert fields_named(crm.user.post(f"/v1/propagations/{crm_id}/failure", json={})) == {"reason"}
    failed = ok(crm.user.post(f"/v1/propagations/{crm_id}/failure",
                              json={"reason": "the record is under legal hold"}))
    assert (failed["status"], failed["reason"]) == ("failed", "the record is under legal hold")
    problem(officer.post(f"/v1/requests/{request['id']}/fulfil"), 409)

    waived = ok(officer.post(f"/v1/requests/{request['id']}/propagation/waive",
                             json={"reason": "legal hold; the person was told"}))
    assert waived["propagation"][0]["status"] == "waived" and waived["waiting_for"] == []
    problem(officer.post(f"/v1/requests/{request['id']}/propagation/waive",
                         json={"reason": "again"}), 409)
    as_auditor = ok(api.user("auditor", "aude").get(
        f"/v1/requests/{request['id']}", params={"min_position": waived["position"]}))
    assert as_auditor["propagation"][0]["reason"] == "***"
    assert as_auditor["propagation"][0]["name"] == "CRM"
    assert ok(officer.get(f"/v1/requests/{request['id']}"))["propagation"][0]["reason"] == (
        "legal hold; the person was told")
    assert ok(officer.post(f"/v1/requests/{request['id']}/fulfil"))["status"] == "fulfilled"

    late = ok(crm.user.post(f"/v1/propagations/{crm_id}/confirm"))
    assert late["status"] == "confirmed", "a confirmation after the close is still a fact"


def test_a_request_of_a_kind_no_system_takes_waits_for_nobody(
    outbox_api: Api, receivers: list[WebhookReceiver]
) -> None:
    api = outbox_api
    register(api, receivers, "Mail", "mail", kinds=["erasure"])
    request = verified_request(api, subject(api), "rectification")

    assert request["propagation"] == [] and request["waiting_for"] == []
    fulfilled = ok(api.user("officer", "olga").post(f"/v1/requests/{request['id']}/fulfil"))
    assert fulfilled["status"] == "fulfilled"
