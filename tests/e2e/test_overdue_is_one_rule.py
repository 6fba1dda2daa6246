"""Whether a subject's request or an incident is overdue is one rule (the aggregates'
`is_overdue`, over domain/deadlines.py), so every place that shows it says the same at the
same moment: a write's answer, a GET, the subject's export (the dossier), the customer portal
and the sweep. The sweep's mark only records it: nothing waits for it.

Run on every store (`api`): the GETs and the portal read the read models' SQL, the write
answers and the dossier the aggregates, and the sweep both."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from api.services.sweep import due_from_events, sweep
from tests.e2e.conftest import Api, User, created, ok


def in_the_portal(api: Api, tenant: str, incident_title: str) -> str:
    """The row of the tenant's portal incidents page that shows this incident."""
    browser = TestClient(api.app)  # a browser of its own: its own cookie jar
    login = browser.get("/portal/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', login)
    assert csrf is not None
    response = browser.post("/portal/login", follow_redirects=False, data={
        "token": api.token("customer", "carla", tenant), "csrf_token": csrf.group(1),
    })
    assert response.status_code == 303, response.text
    page = browser.get("/portal/incidents").text
    row = page[page.index(incident_title):]
    return row[:row.index("</tr>")]


def dossier_row(officer: User, subject: str, request: str) -> dict[str, Any]:
    dossier = ok(officer.get(
        f"/v1/subjects/{subject}/export", params={"format": "json", "reason": "a check"}
    ))
    [row] = [r for r in dossier["sheets"]["requests"] if r["request_id"] == request]
    return row


def swept(api: Api) -> Any:
    api.caught_up(api.events())
    report = sweep(api.ledger, api.app.state.read)
    api.caught_up(api.events())
    return report


def test_an_incident_whose_authority_was_told_after_the_72_hours_is_overdue_everywhere(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    customer = api.user("customer", "carla", tenant)
    reported = created(officer.post("/v1/incidents", json={
        "title": "Backup bucket was public", "description": "02:00 to 03:10",
        "severity": "high", "tenant_ids": [tenant],
    }))
    incident = reported["id"]
    assert reported["overdue"] is False  # 72 hours to go

    api.clock.move(hours=72, seconds=1)
    told = created(officer.post(f"/v1/incidents/{incident}/notifications", json={
        "recipient": "authority", "reference": "AP-2026-00042",
    }))

    assert told["overdue"] is True  # the write's answer
    read = {"min_position": told["position"]}
    assert ok(officer.get(f"/v1/incidents/{incident}", params=read))["overdue"] is True
    assert ok(customer.get(f"/v1/incidents/{incident}", params=read))["overdue"] is True
    assert [i["overdue"] for i in ok(customer.get("/v1/incidents", params=read))["items"]] == [True]
    assert "overdue" in in_the_portal(api, tenant, "Backup bucket was public")
    # The sweep's view: the incident it loads is overdue, and there is nothing left to mark
    # (told is told, if late): it records nothing, and everything still says overdue.
    assert api.ledger.incident(UUID(incident)).is_overdue(api.ledger.now())
    assert due_from_events(api.ledger, api.ledger.now())["overdue_incidents"] == []
    assert swept(api).overdue_incidents == []
    assert ok(officer.get(f"/v1/incidents/{incident}"))["overdue"] is True
    assert "overdue" in in_the_portal(api, tenant, "Backup bucket was public")


def test_an_incident_told_within_the_72_hours_is_overdue_nowhere(api: Api) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    incident = created(officer.post("/v1/incidents", json={
        "title": "Laptop stolen", "description": "encrypted disk", "severity": "low",
        "tenant_ids": [tenant],
    }))["id"]

    api.clock.move(hours=72)  # the very last moment of the 72 hours is still in time
    told = created(officer.post(f"/v1/incidents/{incident}/notifications", json={
        "recipient": "authority", "reference": "AP-2026-00043",
    }))
    api.clock.move(days=30)

    assert told["overdue"] is False
    assert ok(officer.get(f"/v1/incidents/{incident}", params={
        "min_position": told["position"]}))["overdue"] is False
    assert "overdue" not in in_the_portal(api, tenant, "Laptop stolen")
    assert swept(api).overdue_incidents == []


def test_an_incident_past_its_72_hours_untold_is_overdue_before_the_sweep_marks_it(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    aware = (api.clock.now() - timedelta(hours=73)).isoformat()
    reported = created(officer.post("/v1/incidents", json={
        "title": "Found out late", "description": "a log review", "severity": "medium",
        "tenant_ids": [tenant], "aware_at": aware,
    }))
    incident = reported["id"]

    assert reported["overdue"] is True
    api.caught_up(reported["position"])
    assert ok(officer.get(f"/v1/incidents/{incident}"))["overdue"] is True
    assert "overdue" in in_the_portal(api, tenant, "Found out late")
    assert [str(i) for i in swept(api).overdue_incidents] == [incident]
    assert ok(officer.get(f"/v1/incidents/{incident}"))["overdue"] is True
    assert "overdue" in in_the_portal(api, tenant, "Found out late")


def test_a_subjects_request_past_its_due_date_reads_overdue_before_the_sweep_marks_it(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    subject = created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": "Zoë Jansen", "email": "zoe@example.org"}
    ))["id"]
    received = created(officer.post(f"/v1/subjects/{subject}/requests", json={
        "kind": "access", "channel": "letter",
    }))
    request = received["id"]
    assert received["overdue"] is False

    api.clock.move(days=32)  # a calendar month and then some: past its due date
    verified = ok(officer.post(
        f"/v1/requests/{request}/verify-identity", json={"method": "passport"}
    ))

    assert verified["overdue"] is True  # the write's answer
    read = {"min_position": verified["position"]}
    assert ok(officer.get(f"/v1/requests/{request}", params=read))["overdue"] is True
    assert [r["id"] for r in ok(officer.get(
        "/v1/requests", params={"overdue": "true", **read}))["items"]] == [request]
    assert dossier_row(officer, subject, request)["overdue"] is True
    # The sweep then records it, and nothing changes for anyone who reads it.
    assert [str(i) for i in swept(api).overdue_requests] == [request]
    assert ok(officer.get(f"/v1/requests/{request}"))["overdue"] is True
    assert dossier_row(officer, subject, request)["overdue"] is True

    # Closed, it is overdue no more, in every answer alike.
    rejected = ok(officer.post(f"/v1/requests/{request}/reject", json={"reason": "unfounded"}))
    assert rejected["overdue"] is False
    assert ok(officer.get(f"/v1/requests/{request}", params={
        "min_position": rejected["position"]}))["overdue"] is False
    assert dossier_row(officer, subject, request)["overdue"] is False


def test_a_request_entered_after_its_due_date_is_overdue_in_its_very_first_answer(
    api: Api,
) -> None:
    officer = api.user("officer", "olga")
    subject = created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": "Zoë Jansen", "email": "zoe@example.org"}
    ))["id"]
    letter = (api.clock.now() - timedelta(days=40)).isoformat()

    received = created(officer.post(f"/v1/subjects/{subject}/requests", json={
        "kind": "erasure", "channel": "letter", "received_at": letter,
    }))

    assert received["overdue"] is True
    assert ok(officer.get(f"/v1/requests/{received['id']}", params={
        "min_position": received["position"]}))["overdue"] is True
    assert dossier_row(officer, subject, received["id"])["overdue"] is True
