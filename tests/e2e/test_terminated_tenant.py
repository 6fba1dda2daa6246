"""Termination closes the tenant (DESIGN.md §7), through the HTTP API and the portal, on SQLite
and PostgreSQL: its customer reads only the tenant, its access log and its incidents; its
subjects' consent is neither written nor answered "yes"; every request and grant ends, and a
reactivation revives none of them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api, created, ok, problem

ASK = {"scope": "read", "resources": ["orders"], "reason": "ticket 5", "duration_minutes": 60}
GIVE = {"status": "given", "notice_version": "2026-01", "method": "web_form"}


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def _closed(response: Any) -> None:
    assert "terminated" in problem(response, 409)["detail"]


def test_a_terminated_tenants_customer_and_the_vendors_systems_meet_a_closed_door(api: Api) -> None:
    officer, system, staff = api.user("officer", "olga"), api.user("system", "crm"), api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    subject = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Zoë Jansen", "email": "zoe@example.org"}))["id"]
    consent = f"/v1/subjects/{subject}/consents/info_mail"
    ok(system.put(consent, json=GIVE))
    pending = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ASK))["id"]
    granted = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ASK))["id"]
    ok(customer.post(f"/v1/access-requests/{granted}/approve"))

    ended = ok(officer.post(f"/v1/tenants/{tenant}/terminate"))

    # Both requests ended as events, seen by the time termination answered.
    for request in (pending, granted):
        seen = api.app.state.read.access_request(request)
        assert seen["status"] == "ended" and seen["decided_by"] == "olga"
        assert seen["history"][-1]["detail"] == "the tenant was terminated"
    assert ended["position"] == api.events()
    # The customer: the tenant, its access log and its incidents; nothing else.
    assert ok(customer.get(f"/v1/tenants/{tenant}"))["status"] == "terminated"
    ok(customer.get(f"/v1/tenants/{tenant}/access-log"))
    ok(customer.get("/v1/incidents"))
    for path in (
        "/v1/subjects", f"/v1/subjects/{subject}", f"/v1/tenants/{tenant}/access-requests",
        f"/v1/access-requests/{granted}", f"/v1/tenants/{tenant}/disclosures",
    ):
        _closed(customer.get(path))
    problem(customer.post(f"/v1/access-requests/{pending}/approve"), 409)  # it ended
    # The vendor's systems: no consent written, every check answered no, with the reason.
    _closed(system.put(consent, json=GIVE))
    _closed(system.put(consent, json={"status": "withdrawn", "method": "api"}))
    answer = ok(system.get(consent, params={"channel": "email"}))
    assert answer["allowed"] is False and answer["reason"] == "the tenant is terminated"
    _closed(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Bob", "email": "bob@example.org"}))
    batch = ok(system.post("/v1/consents:batch", json={"decisions": [
        {"subject_id": subject, "purpose": "info_mail", **GIVE}]}))
    assert batch["items"][0]["status"] == 409
    # Staff: nothing new to ask for, the old grant refused (and the refusal logged).
    problem(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ASK), 409)
    refused = problem(staff.post(f"/v1/access-requests/{granted}/accesses",
                                 json={"resource": "orders/1", "action": "read"}), 403)
    assert refused["position"] > ended["position"]
    # The officer: the subject is no longer exported.
    _closed(officer.get(f"/v1/subjects/{subject}/export", params={"reason": "an audit"}))

    ok(officer.post(f"/v1/tenants/{tenant}/reactivate"))
    api.caught_up(api.events())

    problem(staff.post(f"/v1/access-requests/{granted}/accesses",
                       json={"resource": "orders/1", "action": "read"}), 403)
    problem(customer.post(f"/v1/access-requests/{pending}/approve"), 409)
    assert ok(customer.get(f"/v1/access-requests/{granted}"))["status"] == "ended"
    assert ok(system.get(consent, params={"channel": "email"}))["allowed"] is True
    ok(customer.get(f"/v1/subjects/{subject}"))


def test_a_terminated_tenants_portal_shows_its_log_and_incidents_and_says_the_rest_is_closed(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    client = api.client
    login = client.get("/portal/login")
    csrf = login.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    logged_in = client.post("/portal/login", data={
        "token": api.token("customer", "carla", tenant), "csrf_token": csrf,
    }, follow_redirects=True)
    assert logged_in.status_code == 200
    assert "Your subscription is terminated" in logged_in.text
    assert client.get("/portal/log").status_code == 200
    incidents = client.get("/portal/incidents")
    assert incidents.status_code == 200 and "show only in your" in incidents.text
