"""Finding a subject by e-mail; a request entered after it arrived; who decided on an access
request; phone numbers and currencies, through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

from tests.e2e.conftest import Api, created, fields_named, ok, problem


def test_a_subject_is_found_by_email_ignoring_case_and_spaces_and_only_by_its_tenants_customer(
    api: Api,
) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    other = created(officer.post("/v1/tenants", json={"name": "Other B.V."}))["id"]
    zoe = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Zoë", "email": "Zoe@Example.org"}))
    created(system.post("/v1/subjects", json={"name": "Bob", "email": "bob@example.org"}))
    at = {"min_position": api.events()}

    found = ok(officer.get("/v1/subjects", params={**at, "email": "  zoe@EXAMPLE.org "}))
    assert [s["id"] for s in found["items"]] == [zoe["id"]]
    assert found["items"][0]["email"] == "***", "a list shows the officer no personal field"
    mine = ok(api.user("customer", "carla", tenant).get("/v1/subjects", params={
        **at, "email": "zoe@example.org"}))
    assert [s["email"] for s in mine["items"]] == ["Zoe@Example.org"]
    theirs = ok(api.user("customer", "otto", other).get("/v1/subjects", params={
        **at, "email": "zoe@example.org"}))
    assert theirs["items"] == []
    assert ok(officer.get("/v1/subjects", params={**at, "email": "nobody@example.org"}))["items"] == []


def test_a_request_that_arrived_by_letter_yesterday_is_due_a_month_after_yesterday(api: Api) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    subject = created(system.post("/v1/subjects", json={"name": "Zoë", "email": "zoe@example.org"}))["id"]
    arrived = api.clock.now() - timedelta(days=1)

    request = created(officer.post(f"/v1/subjects/{subject}/requests", json={
        "kind": "access", "channel": "letter", "received_at": arrived.isoformat()}))

    assert request["received_at"].replace("Z", "+00:00") == arrived.isoformat()
    assert request["due_at"].startswith("2026-02-04")
    assert request["entered_by"] == "olga"
    seen = ok(officer.get(f"/v1/requests/{request['id']}", params={"min_position": request["position"]}))
    assert seen["received_at"] == request["received_at"] and seen["entered_by"] == "olga"
    for when in (api.clock.now() + timedelta(hours=1), api.clock.now() - timedelta(days=400)):
        assert fields_named(officer.post(f"/v1/subjects/{subject}/requests", json={
            "kind": "erasure", "channel": "letter", "received_at": when.isoformat()})) == {"received_at"}


def test_who_denied_or_revoked_a_request_is_shown(api: Api) -> None:
    officer, staff = api.user("officer", "olga"), api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    ask = {"scope": "read", "resources": ["orders"], "reason": "ticket 3"}
    denied = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ask))["id"]
    revoked = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ask))["id"]
    ok(customer.post(f"/v1/access-requests/{denied}/deny", json={"reason": "not now"}))
    ok(customer.post(f"/v1/access-requests/{revoked}/approve"))
    last = ok(staff.post(f"/v1/access-requests/{revoked}/revoke", json={"reason": "done"}))
    at = {"min_position": last["position"]}
    assert ok(customer.get(f"/v1/access-requests/{denied}", params=at))["decided_by"] == "carla"
    assert ok(customer.get(f"/v1/access-requests/{revoked}", params=at))["decided_by"] == "sam"


def test_phone_numbers_are_kept_in_e164_and_fees_need_an_iso_4217_currency(api: Api) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    made = created(system.post("/v1/subjects", json={
        "name": "Zoë", "email": "zoe@example.org", "phone": "0031 6 1234 5678"}))
    assert fields_named(system.post("/v1/subjects", json={
        "name": "Bob", "email": "bob@example.org", "phone": "06 1234 5678"})) == {"phone"}
    seen = ok(officer.get(f"/v1/subjects/{made['id']}", params={
        "min_position": made["position"], "reason": "checking the number"}))
    assert seen["phone"] == "+31612345678"
    request = created(officer.post(f"/v1/subjects/{made['id']}/requests", json={
        "kind": "portability", "channel": "email"}))["id"]
    assert fields_named(officer.post(f"/v1/requests/{request}/quote", json={
        "amount_cents": 500, "currency": "EUX"})) == {"currency"}
    problem(officer.post(f"/v1/requests/{request}/quote", json={
        "amount_cents": 500, "currency": "XAU"}), 422)
    assert ok(officer.post(f"/v1/requests/{request}/quote", json={
        "amount_cents": 500, "currency": "eur"}))["quote"]["currency"] == "EUR"
