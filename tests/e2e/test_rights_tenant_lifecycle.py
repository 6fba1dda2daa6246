"""A tenant's end and what its customer sees, through the HTTP API: the 60 days of grace (with
a return on day 59), the purge by the sweep and its entry in the access log (on SQLite and
PostgreSQL), the incidents and disclosures that concern the customer, the log as one CSV."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest

from api.services import access_log_csv
from api.services.sweep import sweep
from tests.e2e.conftest import Api, created, ok, problem

# Why the officer reads a person's data: logged in the tenant's access log.
WHY = {"reason": "the subject asked us by e-mail"}

ASK = {"scope": "read", "resources": ["orders"], "reason": "ticket", "duration_minutes": 60}


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def swept(api: Api) -> list[str]:
    """The sweep `ledger serve` runs every minute, now; the tenants it purged."""
    api.caught_up(api.events())
    report = sweep(api.ledger, api.app.state.read)
    api.caught_up(api.events())
    return [str(t) for t in report.purged_tenants]


def test_a_tenant_back_on_day_59_and_gone_again_is_purged_on_day_61_and_its_log_says_so(
    api: Api,
) -> None:
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    zoe = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Zoë Jansen", "email": "zoe@example.org",
    }))["id"]
    ok(system.put(f"/v1/subjects/{zoe}/consents/info_mail", json={
        "status": "given", "notice_version": "2026-01", "method": "web_form",
    }))
    link = urlsplit(created(system.post(
        f"/v1/subjects/{zoe}/unsubscribe-links", json={"purpose": "info_mail"}
    ))["url"]).path

    ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    api.clock.move(days=59)
    ok(officer.post(f"/v1/tenants/{tenant}/reactivate"))
    api.clock.move(days=2)  # day 61 of the first termination: it came back, nothing happens
    assert swept(api) == []
    ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    api.clock.move(days=59)
    assert swept(api) == []
    assert ok(officer.get(f"/v1/subjects/{zoe}", params=WHY))["name"] == "Zoë Jansen"  # still kept
    api.clock.move(days=2)
    assert swept(api) == [tenant]

    seen = officer.get(f"/v1/subjects/{zoe}", params=WHY)
    assert seen.status_code == 200 and "Zoë" not in seen.text and "zoe@" not in seen.text
    assert seen.json()["erased"] is True or seen.json()["name"] == "[erased]"
    export = officer.get(f"/v1/subjects/{zoe}/export", params={"format": "json", **WHY})
    assert "Zoë" not in export.text and "zoe@" not in export.text
    assert ok(officer.get(f"/v1/tenants/{tenant}"))["status"] == "purged"
    problem(api.anonymous().post(link), 404)  # her unsubscribe link died with her data
    problem(officer.post(f"/v1/tenants/{tenant}/reactivate"), 409)

    log = ok(customer.get(f"/v1/tenants/{tenant}/access-log"))["items"]
    assert log[0] == {**log[0], "outcome": "purged", "action": "purge", "actor": "ledger-sweep",
                      "resource": f"tenants/{tenant}"}
    assert log[0]["at"].replace("Z", "+00:00") == api.clock.now().isoformat()
    purges = ok(customer.get(f"/v1/tenants/{tenant}/access-log", params={"outcome": "purged"}))
    assert [e["outcome"] for e in purges["items"]] == ["purged"]
    table = customer.get(f"/v1/tenants/{tenant}/access-log", params={"format": "csv"})
    # The officer's read while the tenant was terminated is in its log too.
    assert [r["outcome"] for r in csv.DictReader(io.StringIO(table.text))] == [
        "purged", "vendor_read"
    ]


def test_customers_see_the_incidents_that_concern_them_and_disclosures_in_their_log(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    hit = created(officer.post("/v1/tenants", json={"name": "Hit B.V."}))["id"]
    spared = created(officer.post("/v1/tenants", json={"name": "Spared B.V."}))["id"]
    incident = created(officer.post("/v1/incidents", json={
        "title": "Backup bucket was public", "description": "02:00 to 03:10 UTC",
        "severity": "high", "tenant_ids": [hit],
    }))
    disclosure = created(officer.post(f"/v1/tenants/{hit}/disclosures", json={
        "recipient": "Belastingdienst", "legal_basis": "legal_obligation", "reference": "letter 17",
    }))
    api.caught_up(disclosure["position"])
    hit_customer, spared_customer = (
        api.user("customer", "carla", hit), api.user("customer", "otto", spared)
    )

    assert [i["id"] for i in ok(hit_customer.get("/v1/incidents"))["items"]] == [incident["id"]]
    assert ok(hit_customer.get(f"/v1/incidents/{incident['id']}"))["tenant_ids"] == [hit]
    assert ok(spared_customer.get("/v1/incidents"))["items"] == []
    problem(spared_customer.get(f"/v1/incidents/{incident['id']}"), 404)

    [entry] = ok(hit_customer.get(f"/v1/tenants/{hit}/access-log"))["items"]
    assert entry == {**entry, "outcome": "disclosed", "actor": "olga", "resource": "Belastingdienst",
                     "detail": "legal_obligation: letter 17"}
    assert ok(spared_customer.get(f"/v1/tenants/{spared}/access-log"))["items"] == []
    problem(spared_customer.get(f"/v1/tenants/{hit}/access-log"), 404)


def test_the_access_log_downloads_as_one_csv_of_the_whole_filtered_log(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = sqlite_api
    monkeypatch.setattr(access_log_csv, "PAGE", 2)  # so five entries take three pages to read
    officer, staff = api.user("officer", "olga"), api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    grant = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ASK))["id"]
    ok(customer.post(f"/v1/access-requests/{grant}/approve"))
    for number in range(4):
        created(staff.post(f"/v1/access-requests/{grant}/accesses",
                           json={"resource": f"orders/{number}", "action": "read"}))
    last = problem(api.user("staff", "=HYPERLINK(1)").post(
        f"/v1/access-requests/{grant}/accesses", json={"resource": "orders/9", "action": "read"}
    ), 403)["position"]
    api.caught_up(last)
    path = f"/v1/tenants/{tenant}/access-log"

    response = customer.get(path, params={"format": "csv", "limit": 1})

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="access-log-{tenant}.csv"'
    )
    assert response.text.startswith("at,actor,action,resource,request_id,outcome,detail\r\n")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["resource"] for r in rows] == [
        "orders/9", "orders/3", "orders/2", "orders/1", "orders/0",
    ]
    assert rows[0]["outcome"] == "refused" and rows[0]["detail"]
    assert rows[0]["actor"] == "'=HYPERLINK(1)"
    refused = customer.get(path, params={"format": "csv", "outcome": "refused"}).text
    assert [r["actor"] for r in csv.DictReader(io.StringIO(refused))] == ["'=HYPERLINK(1)"]
