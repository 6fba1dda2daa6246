"""Every read of a tenant subject's personal data by the vendor's officer is in that tenant's
access log, naming who, what and why; the customer sees it in the API, the CSV and the portal
(DESIGN.md §7), on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest

from tests.e2e.conftest import Api, created, fields_named, ok

REASON = "Zoë called: she wants to know what we hold"


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def test_an_officers_reads_and_export_appear_in_the_tenants_access_log(api: Api) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    zoe = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Zoë Jansen", "email": "zoe@example.org"}))["id"]
    asked = created(officer.post(f"/v1/subjects/{zoe}/requests",
                                 json={"kind": "access", "channel": "phone"}))["id"]
    before = api.events()
    api.caught_up(before)

    ok(officer.get(f"/v1/subjects/{zoe}", params={"reason": REASON}))
    ok(officer.get(f"/v1/subjects/{zoe}/history", params={"request_id": asked}))
    exported = officer.get(f"/v1/subjects/{zoe}/export", params={"request_id": asked})
    assert exported.status_code == 200
    ok(customer.get(f"/v1/subjects/{zoe}"))  # the customer's own read is not the vendor's
    ok(api.user("auditor", "aude").get(f"/v1/subjects/{zoe}"))  # masked: nothing personal read

    assert api.events() == before + 3
    api.caught_up(api.events())
    log = ok(customer.get(f"/v1/tenants/{tenant}/access-log",
                          params={"outcome": "vendor_read"}))["items"]
    assert [(e["actor"], e["action"], e["resource"], e["request_id"], e["detail"]) for e in log] == [
        ("olga", "read export", f"subjects/{zoe}", asked, "to answer the subject's request"),
        ("olga", "read history", f"subjects/{zoe}", asked, "to answer the subject's request"),
        ("olga", "read profile", f"subjects/{zoe}", None, REASON),
    ]
    table = customer.get(f"/v1/tenants/{tenant}/access-log",
                         params={"format": "csv", "outcome": "vendor_read"})
    assert [r["detail"] for r in csv.DictReader(io.StringIO(table.text))][-1] == REASON
    page = _portal_log(api, tenant)
    assert "read profile" in page and "vendor_read" in page and "Zoë called" in page


def test_an_officer_who_does_not_say_why_reads_nothing_and_nothing_is_logged(api: Api) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    zoe = created(system.post("/v1/subjects", json={"name": "Zoë", "email": "zoe@example.org"}))["id"]
    bob = created(system.post("/v1/subjects", json={"name": "Bob", "email": "bob@example.org"}))["id"]
    bobs = created(officer.post(f"/v1/subjects/{bob}/requests",
                                json={"kind": "access", "channel": "email"}))["id"]
    before = api.events()
    api.caught_up(before)

    assert fields_named(officer.get(f"/v1/subjects/{zoe}")) == {"reason"}
    assert fields_named(officer.get(f"/v1/subjects/{zoe}/export")) == {"reason"}
    # A request of someone else's does not justify reading Zoë.
    assert fields_named(officer.get(f"/v1/subjects/{zoe}", params={"request_id": bobs})) == {"request_id"}
    assert api.events() == before


def _portal_log(api: Api, tenant: str) -> str:
    client = api.client
    page = client.get("/portal/login").text
    csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/portal/login", data={
        "token": api.token("customer", "carla", tenant), "csrf_token": csrf,
    })
    return client.get("/portal/log").text
