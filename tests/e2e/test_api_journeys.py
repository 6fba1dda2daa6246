"""Journeys through the HTTP API as its users make them, against the real app.

The first is the newcomer's journey of docs/api.md (the same steps as its curl commands),
on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.e2e.conftest import Api, User, fields_named, problem

# Why the officer reads a person's data: logged in the tenant's access log.
WHY = {"reason": "the subject asked us by e-mail"}

ACCESS_REQUEST = {
    "scope": "read", "resources": ["orders"], "reason": "Invoice 2026-017 looks wrong",
    "ticket": "SUP-1234", "duration_minutes": 60,
}


def created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def open_tenant(api: Api, name: str = "Acme B.V.") -> str:
    return created(api.user("officer", "olga").post("/v1/tenants", json={"name": name}))["id"]


def approved_request(api: Api, tenant: str, staff: User, **approval: Any) -> str:
    request = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST))
    customer = api.user("customer", "alice", tenant)
    ok(customer.post(f"/v1/access-requests/{request['id']}/approve", json=approval))
    return request["id"]


# The newcomer's journey (docs/api.md)
def test_the_newcomers_journey_from_the_docs_works_on_every_store(api: Api) -> None:
    officer = api.user("officer", "olga")
    staff = api.user("staff", "sam")

    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))
    assert tenant["status"] == "active" and tenant["location"] == "NL"
    customer = api.user("customer", "alice", tenant["id"])

    request = created(staff.post(f"/v1/tenants/{tenant['id']}/access-requests", json=ACCESS_REQUEST))
    assert request["status"] == "pending"

    approval = ok(customer.post(
        f"/v1/access-requests/{request['id']}/approve", json={"duration_minutes": 30}
    ))
    assert approval["status"] == "approved"
    assert approval["valid_until"].startswith("2026-01-05T09:30:00")

    access = created(staff.post(
        f"/v1/access-requests/{request['id']}/accesses",
        json={"resource": "orders/17", "action": "read"},
    ))

    log = ok(customer.get(
        f"/v1/tenants/{tenant['id']}/access-log", params={"min_position": access["position"]}
    ))
    assert log["next"] is None
    assert [(e["actor"], e["action"], e["resource"], e["outcome"], e["request_id"]) for e in log["items"]] == [
        ("sam", "read", "orders/17", "allowed", request["id"])
    ]
    assert log["items"][0]["at"] == "2026-01-05T09:00:00Z"


# Staff access
def test_a_refused_access_answers_403_and_the_refusal_is_in_the_customers_log(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    staff = api.user("staff", "sam")
    request = approved_request(api, tenant, staff)

    refused = problem(staff.post(
        f"/v1/access-requests/{request}/accesses", json={"resource": "invoices", "action": "read"}
    ), 403)

    assert refused["position"] > 0
    log = ok(api.user("customer", "alice", tenant).get(
        f"/v1/tenants/{tenant}/access-log",
        params={"min_position": refused["position"], "outcome": "refused"},
    ))
    assert [(e["resource"], e["outcome"]) for e in log["items"]] == [("invoices", "refused")]
    assert "outside the granted resources" in log["items"][0]["detail"]


def test_another_staff_member_using_a_grant_is_refused_and_the_attempt_is_logged(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    request = approved_request(api, tenant, api.user("staff", "sam"))

    refused = problem(api.user("staff", "stan").post(
        f"/v1/access-requests/{request}/accesses", json={"resource": "orders", "action": "read"}
    ), 403)

    log = ok(api.user("officer", "olga").get(
        f"/v1/tenants/{tenant}/access-log", params={"min_position": refused["position"]}
    ))
    assert [(e["actor"], e["outcome"]) for e in log["items"]] == [("stan", "refused")]


def test_staff_see_their_own_requests_and_not_those_of_colleagues(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    sam, stan = api.user("staff", "sam"), api.user("staff", "stan")
    mine = created(sam.post(f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST))
    theirs = created(stan.post(f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST))
    api.caught_up(theirs["position"])

    listed = ok(sam.get(f"/v1/tenants/{tenant}/access-requests"))
    assert [r["id"] for r in listed["items"]] == [mine["id"]]
    assert ok(sam.get(f"/v1/access-requests/{mine['id']}"))["requester"] == "sam"
    problem(sam.get(f"/v1/access-requests/{theirs['id']}"), 404)
    problem(sam.post(f"/v1/access-requests/{theirs['id']}/revoke", json={"reason": "x"}), 404)


def test_a_customer_whose_name_matches_the_requester_still_cannot_approve(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    request = created(api.user("staff", "sam").post(
        f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST
    ))

    refused = problem(api.user("customer", "sam", tenant).post(
        f"/v1/access-requests/{request['id']}/approve"
    ), 403)
    assert "own" in refused["detail"]


def test_approving_a_denied_request_is_a_conflict(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    customer = api.user("customer", "alice", tenant)
    request = created(api.user("staff", "sam").post(
        f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST
    ))
    ok(customer.post(f"/v1/access-requests/{request['id']}/deny", json={"reason": "not now"}))

    conflict = problem(customer.post(f"/v1/access-requests/{request['id']}/approve"), 409)
    assert "denied" in conflict["detail"]


def test_an_approval_may_narrow_but_never_widen(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    customer = api.user("customer", "alice", tenant)
    request = created(api.user("staff", "sam").post(
        f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST
    ))
    path = f"/v1/access-requests/{request['id']}/approve"

    assert fields_named(customer.post(path, json={"duration_minutes": 61})) == {"duration_minutes"}
    assert fields_named(customer.post(path, json={"resources": ["invoices"]})) == {"resources"}
    assert fields_named(customer.post(path, json={"scope": "modify"})) == {"scope"}
    narrowed = ok(customer.post(path, json={"resources": ["orders/17"], "duration_minutes": 15}))
    assert narrowed["resources"] == ["orders/17"]
    assert narrowed["valid_until"].startswith("2026-01-05T09:15:00")


def test_a_revoked_grant_stops_the_next_access_at_once(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    staff = api.user("staff", "sam")
    request = approved_request(api, tenant, staff)
    ok(api.user("customer", "alice", tenant).post(
        f"/v1/access-requests/{request}/revoke", json={"reason": "ticket closed"}
    ))

    problem(staff.post(
        f"/v1/access-requests/{request}/accesses", json={"resource": "orders", "action": "read"}
    ), 403)


def test_an_auditor_reads_an_access_request_with_the_reasons_masked(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    request = created(api.user("staff", "sam").post(
        f"/v1/tenants/{tenant}/access-requests", json=ACCESS_REQUEST
    ))
    denied = ok(api.user("customer", "alice", tenant).post(
        f"/v1/access-requests/{request['id']}/deny", json={"reason": "ask Jan Jansen first"}
    ))

    seen = ok(api.user("auditor", "aude").get(
        f"/v1/access-requests/{request['id']}", params={"min_position": denied["position"]}
    ))
    assert seen["reason"] == "***" and seen["status"] == "denied"
    assert "Jan Jansen" not in str(seen)
    assert [h["event"] for h in seen["history"]] == ["requested", "denied"]


# Subjects and consent
def register(api: Api, tenant: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Jan Jansen", "email": "jan@example.org", "phone": "+31612345678"}
    if tenant is not None:
        body["tenant_id"] = tenant
    return created(api.user("system", "crm").post("/v1/subjects", json=body))


def test_consent_given_then_withdrawn_is_answered_no_at_once_for_the_writer(sqlite_api: Api) -> None:
    api = sqlite_api
    system = api.user("system", "crm")
    subject = register(api)["id"]
    path = f"/v1/subjects/{subject}/consents/info_mail"

    given = ok(system.put(path, json={
        "status": "given", "channel": "email", "notice_version": "2026-01", "method": "web_form",
    }))
    answer = ok(system.get(path, params={"min_position": given["position"], "channel": "email"}))
    assert answer["allowed"] is True and answer["notice_version"] == "2026-01"

    withdrawn = ok(system.put(path, json={"status": "withdrawn", "method": "email"}))
    answer = ok(system.get(path, params={"min_position": withdrawn["position"], "channel": "email"}))
    assert answer["allowed"] is False and answer["status"] == "withdrawn"


def test_a_purpose_never_given_is_not_allowed_and_an_unknown_purpose_is_422(sqlite_api: Api) -> None:
    api = sqlite_api
    system = api.user("system", "crm")
    subject = register(api)
    api.caught_up(subject["position"])

    answer = ok(system.get(f"/v1/subjects/{subject['id']}/consents/profiling"))
    assert answer == {**answer, "allowed": False, "status": None}
    assert fields_named(system.get(f"/v1/subjects/{subject['id']}/consents/spam")) == {"purpose"}
    assert fields_named(system.put(
        f"/v1/subjects/{subject['id']}/consents/spam",
        json={"status": "given", "notice_version": "1", "method": "web_form"},
    )) == {"purpose"}


def test_giving_consent_without_a_notice_version_is_422_naming_it(sqlite_api: Api) -> None:
    api = sqlite_api
    subject = register(api)["id"]
    response = api.user("system", "crm").put(
        f"/v1/subjects/{subject}/consents/info_mail", json={"status": "given", "method": "web_form"}
    )
    assert fields_named(response) == {"notice_version"}


def test_the_subject_as_of_a_past_moment_shows_what_held_then(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    officer = api.user("officer", "olga")
    subject = register(api, tenant)["id"]
    before = api.clock.now()
    api.clock.move(hours=1)
    ok(officer.patch(f"/v1/subjects/{subject}", json={"email": "jan.jansen@example.org"}))
    ok(officer.put(f"/v1/subjects/{subject}/consents/info_mail", json={
        "status": "given", "notice_version": "2026-01", "method": "web_form",
    }))

    then = ok(officer.get(f"/v1/subjects/{subject}", params={"as_of": before.isoformat(), **WHY}))
    assert then["email"] == "jan@example.org" and then["consents"] == {}
    now = ok(api.user("customer", "alice", tenant).get(
        f"/v1/subjects/{subject}", params={"as_of": api.clock.now().isoformat(), **WHY}
    ))
    assert now["email"] == "jan.jansen@example.org" and now["consents"]["info_mail"]["status"] == "given"
    naive = officer.get(f"/v1/subjects/{subject}", params={"as_of": "2026-01-05T09:00:00", **WHY})
    assert fields_named(naive) == {"as_of"}
    problem(officer.get(
        f"/v1/subjects/{subject}", params={"as_of": (before - timedelta(days=1)).isoformat(), **WHY}
    ), 404)


def test_an_auditor_sees_a_subject_with_personal_fields_masked(sqlite_api: Api) -> None:
    api = sqlite_api
    subject = register(api)
    seen = ok(api.user("auditor", "aude").get(
        f"/v1/subjects/{subject['id']}", params={"min_position": subject["position"]}
    ))
    assert (seen["name"], seen["email"], seen["phone"]) == ("***", "***", "***")
    history = ok(api.user("auditor", "aude").get(f"/v1/subjects/{subject['id']}/history"))
    assert history["items"][0]["event"] == "Registered"
    assert "jan@example.org" not in str(history)


def test_a_customer_lists_only_its_own_tenants_subjects(sqlite_api: Api) -> None:
    api = sqlite_api
    mine, theirs = open_tenant(api, "Mine"), open_tenant(api, "Theirs")
    register(api, mine)
    last = register(api, theirs)["position"]
    customer = api.user("customer", "alice", mine)

    listed = ok(customer.get("/v1/subjects", params={"min_position": last}))
    assert [(s["tenant_id"], s["email"]) for s in listed["items"]] == [(mine, "jan@example.org")]
    problem(customer.get("/v1/subjects", params={"tenant_id": theirs}), 404)
    everyone = ok(api.user("auditor", "aude").get("/v1/subjects"))
    assert {s["email"] for s in everyone["items"]} == {"***"} and len(everyone["items"]) == 2
    tenants = ok(api.user("officer", "olga").get("/v1/tenants", params={"status": "active"}))
    assert {t["name"] for t in tenants["items"]} == {"Mine", "Theirs"}


def test_the_subjects_history_pages_through_its_events_in_order(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = register(api)["id"]
    for purpose in ("info_mail", "blog_mail", "profiling"):
        ok(officer.put(f"/v1/subjects/{subject}/consents/{purpose}", json={
            "status": "given", "notice_version": "1", "method": "web_form",
        }))

    first = ok(officer.get(f"/v1/subjects/{subject}/history", params={"limit": 2, **WHY}))
    rest = ok(officer.get(f"/v1/subjects/{subject}/history", params={"limit": 2, "after": first["next"], **WHY}))

    assert [e["version"] for e in first["items"] + rest["items"]] == [1, 2, 3, 4]
    assert [e["data"].get("purpose") for e in rest["items"]] == ["blog_mail", "profiling"]
    assert rest["next"] is None
    assert first["items"][0]["data"]["email"] == "jan@example.org"


def test_an_erasure_request_fulfilled_leaves_a_subject_without_personal_fields(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = register(api)["id"]
    request = created(officer.post(
        f"/v1/subjects/{subject}/requests", json={"kind": "erasure", "channel": "email"}
    ))
    assert request["status"] == "received" and request["due_at"].startswith("2026-02-05")
    ok(officer.post(f"/v1/requests/{request['id']}/verify-identity", json={"method": "passport"}))
    done = ok(officer.post(f"/v1/requests/{request['id']}/fulfil"))

    seen = ok(officer.get(f"/v1/subjects/{subject}", params={"min_position": done["position"], **WHY}))
    assert seen == {**seen, "id": subject, "erased": True, "name": None, "email": None}
    problem(officer.put(f"/v1/subjects/{subject}/consents/info_mail", json={
        "status": "given", "notice_version": "1", "method": "web_form",
    }), 409)


def test_a_portability_export_with_a_fee_is_quoted_accepted_and_due_in_14_days(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = register(api)["id"]
    request = created(officer.post(
        f"/v1/subjects/{subject}/requests", json={"kind": "portability", "channel": "web_form"}
    ))["id"]

    quoted = ok(officer.post(f"/v1/requests/{request}/quote", json={"amount_cents": 2500, "currency": "eur"}))
    assert quoted["quote"] == {"amount_cents": 2500, "currency": "EUR"}
    problem(officer.post(f"/v1/requests/{request}/fulfil"), 409)
    api.clock.move(days=2)
    accepted = ok(officer.post(f"/v1/requests/{request}/accept-quote"))
    assert accepted["due_at"].startswith("2026-01-21T09:00:00")

    listed = ok(officer.get("/v1/requests", params={"min_position": accepted["position"]}))
    assert [(r["id"], r["status"]) for r in listed["items"]] == [(request, "quote_accepted")]


def test_a_second_open_request_of_the_same_kind_is_a_conflict(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = register(api)["id"]
    body = {"kind": "access", "channel": "email"}
    created(officer.post(f"/v1/subjects/{subject}/requests", json=body))
    problem(officer.post(f"/v1/subjects/{subject}/requests", json=body), 409)


def test_registering_a_subject_for_a_tenant_that_does_not_exist_is_422_naming_it(sqlite_api: Api) -> None:
    response = sqlite_api.user("system", "crm").post("/v1/subjects", json={
        "tenant_id": "00000000-0000-4000-8000-000000000000", "name": "Jan", "email": "jan@example.org",
    })
    assert fields_named(response) == {"tenant_id"}


# Tenants
def test_a_terminated_tenant_can_come_back_within_60_days_but_not_after_its_purge(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    tenant = open_tenant(api)
    terminated = ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    assert terminated["status"] == "terminated" and terminated["purge_after"].startswith("2026-03-06")
    assert ok(officer.post(f"/v1/tenants/{tenant}/reactivate"))["status"] == "active"

    ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    api.clock.move(days=61)
    purged = api.ledger.purge_tenant(UUID(tenant), "sweep")

    problem(officer.post(f"/v1/tenants/{tenant}/reactivate"), 409)
    seen = ok(officer.get(f"/v1/tenants/{tenant}", params={"min_position": purged.position}))
    assert seen["status"] == "purged" and seen["name"] == "[erased]"


def test_a_tenants_data_moves_only_within_the_eu_and_the_move_is_kept(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    tenant = open_tenant(api)

    assert fields_named(officer.post(f"/v1/tenants/{tenant}/location", json={"location": "US"})) == {"location"}
    assert fields_named(officer.post(f"/v1/tenants/{tenant}/location", json={"location": "DE"})) == {"reason"}
    moved = ok(officer.post(f"/v1/tenants/{tenant}/location", json={"location": "IE", "reason": "failover"}))

    seen = ok(officer.get(f"/v1/tenants/{tenant}", params={"min_position": moved["position"]}))
    assert seen["location"] == "IE"
    assert [entry["location"] for entry in seen["locations"]] == ["NL", "IE"]


def test_an_auditor_sees_a_tenant_with_its_name_masked(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Jansen Eenmanszaak"}))
    seen = ok(api.user("auditor", "aude").get(
        f"/v1/tenants/{tenant['id']}", params={"min_position": tenant["position"]}
    ))
    assert seen["name"] == "***" and seen["status"] == "active"


# Access log
def test_the_access_log_is_newest_first_paged_and_filtered_by_zoned_times(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    staff = api.user("staff", "sam")
    request = approved_request(api, tenant, staff)
    last = 0
    for n in range(3):
        api.clock.move(minutes=10)
        last = created(staff.post(
            f"/v1/access-requests/{request}/accesses", json={"resource": f"orders/{n}", "action": "read"}
        ))["position"]
    customer = api.user("customer", "alice", tenant)
    path = f"/v1/tenants/{tenant}/access-log"

    first = ok(customer.get(path, params={"limit": 2, "min_position": last}))
    second = ok(customer.get(path, params={"limit": 2, "after": first["next"]}))
    assert [e["resource"] for e in first["items"] + second["items"]] == ["orders/2", "orders/1", "orders/0"]
    assert second["next"] is None

    window = ok(customer.get(path, params={
        "since": "2026-01-05T09:15:00+00:00", "until": "2026-01-05T10:25:00+01:00",
    }))
    assert [e["resource"] for e in window["items"]] == ["orders/1"]
    assert fields_named(customer.get(path, params={"since": "2026-01-05T09:15:00"})) == {"since"}
    assert fields_named(customer.get(path, params={"limit": 0})) == {"limit"}
    assert fields_named(customer.get(path, params={"limit": 1001})) == {"limit"}
    assert fields_named(customer.get(path, params={"after": "not-a-cursor"})) == {"after"}
    assert fields_named(customer.get(path, params={"outcome": "maybe"})) == {"outcome"}


def test_the_access_log_downloads_as_csv(sqlite_api: Api) -> None:
    api = sqlite_api
    tenant = open_tenant(api)
    staff = api.user("staff", "sam")
    request = approved_request(api, tenant, staff)
    # Not the requester, so refused, and logged with the actor as its token names it.
    last = problem(api.user("staff", "=HYPERLINK(1)").post(
        f"/v1/access-requests/{request}/accesses", json={"resource": "orders/1", "action": "read"}
    ), 403)["position"]

    response = api.user("customer", "alice", tenant).get(
        f"/v1/tenants/{tenant}/access-log", params={"format": "csv", "min_position": last}
    )

    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["actor"], r["resource"], r["outcome"]) for r in rows] == [
        ("'=HYPERLINK(1)", "orders/1", "refused")
    ]


# Incidents and disclosures
def test_an_incident_is_seen_by_the_affected_customer_only_with_its_72_hour_clock(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    hit, spared = open_tenant(api, "Hit"), open_tenant(api, "Spared")
    incident = created(officer.post("/v1/incidents", json={
        "title": "Backup bucket was public", "description": "02:00 to 03:10 UTC",
        "severity": "high", "tenant_ids": [hit, spared], "aware_at": "2026-01-05T08:00:00Z",
    }))
    assert incident["authority_due_at"] == "2026-01-08T08:00:00Z"
    told = created(officer.post(
        f"/v1/incidents/{incident['id']}/notifications", json={"recipient": "customer", "tenant_id": hit}
    ))

    customer = api.user("customer", "carla", hit)
    seen = ok(customer.get(f"/v1/incidents/{incident['id']}", params={"min_position": told["position"]}))
    assert seen["tenant_ids"] == [hit] and hit in seen["customers_notified"]
    assert [i["id"] for i in ok(customer.get("/v1/incidents"))["items"]] == [incident["id"]]
    outsider = api.user("customer", "otto", open_tenant(api, "Elsewhere"))
    assert ok(outsider.get("/v1/incidents"))["items"] == []
    problem(outsider.get(f"/v1/incidents/{incident['id']}"), 404)
    assert fields_named(officer.post(
        f"/v1/incidents/{incident['id']}/notifications", json={"recipient": "authority"}
    )) == {"reference"}


def test_a_disclosure_appears_in_the_tenants_disclosures_and_access_log(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    tenant = open_tenant(api)
    disclosure = created(officer.post(f"/v1/tenants/{tenant}/disclosures", json={
        "recipient": "Belastingdienst", "legal_basis": "legal_obligation", "reference": "letter 17",
    }))
    customer = api.user("customer", "alice", tenant)

    listed = ok(customer.get(f"/v1/tenants/{tenant}/disclosures", params={"min_position": disclosure["position"]}))
    assert [(d["recipient"], d["legal_basis"]) for d in listed["items"]] == [("Belastingdienst", "legal_obligation")]
    log = ok(customer.get(f"/v1/tenants/{tenant}/access-log"))
    assert [e["outcome"] for e in log["items"]] == ["disclosed"]


# Read-your-writes, health, errors
def test_a_read_that_cannot_reach_its_position_in_time_answers_503_with_retry_after(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    api.settings.read_wait_seconds = 0.2
    api.app.state.read_side.runner.stop()  # the read side falls behind the next write
    position = api.ledger.open_tenant("Late B.V.", "olga").position
    response = api.user("officer", "olga").get("/v1/requests", params={"min_position": position})
    problem(response, 503)
    assert response.headers["retry-after"] == "1"


def test_health_says_ok_while_the_store_answers_and_503_when_it_does_not(sqlite_api: Api) -> None:
    api = sqlite_api
    assert ok(api.anonymous().get("/healthz")) == {"status": "ok"}
    api.app.state.stores.db.close()
    api.app.state.stores.db.path = "/nonexistent/dir/ledger.sqlite"  # reopening fails
    problem(api.anonymous().get("/healthz"), 503)


def test_an_unknown_route_and_a_wrong_method_are_problems_too(sqlite_api: Api) -> None:
    officer = sqlite_api.user("officer", "olga")
    problem(officer.get("/v1/nothing-here"), 404)
    problem(officer.request("DELETE", "/v1/tenants"), 405)


def test_the_openapi_document_shows_an_example_for_every_body_and_answer(sqlite_api: Api) -> None:
    schema = ok(sqlite_api.anonymous().get("/openapi.json"))
    components = schema["components"]["schemas"]
    missing = []
    for path, operations in schema["paths"].items():
        if path.startswith("/v1/audit/"):
            continue  # the verifiable-history issue's router documents its own answers
        for method, operation in operations.items():
            bodies = [operation.get("requestBody", {})] + [
                operation["responses"].get(code, {}) for code in ("200", "201")
            ]
            for part in bodies:
                ref = part.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
                if ref and not _has_example(components, ref.rsplit("/", 1)[-1]):
                    missing.append(f"{method.upper()} {path}: {ref}")
    assert missing == []


def _has_example(components: dict[str, Any], name: str) -> bool:
    schema = components[name]
    if "examples" in schema or "example" in schema:
        return True
    # A page is an example when its items are.
    items = schema.get("properties", {}).get("items", {}).get("items", {}).get("$ref")
    return bool(items) and _has_example(components, items.rsplit("/", 1)[-1])


# The docs' curl journey, exactly as printed, against `ledger serve`
REPO = Path(__file__).resolve().parents[2]


def _journey_script(port: int, document: str) -> str:
    text = (REPO / document).read_text()
    block = text.split("<!-- journey:start -->", 1)[1].split("<!-- journey:end -->", 1)[0]
    script = block.split("```bash", 1)[1].rsplit("```", 1)[0]
    return script.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{port}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("document", ["README.md", "docs/api.md"])
def test_the_curl_journey_of_the_docs_runs_as_printed_against_ledger_serve(
    tmp_path: Path, document: str
) -> None:
    (tmp_path / ".venv").symlink_to(REPO / ".venv")
    # A fresh folder like a fresh clone: no LEDGER_* settings, keys made on first start in ./var
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    port = _free_port()
    server = subprocess.Popen(
        [".venv/bin/ledger", "serve", "--port", str(port)], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_until_healthy(port, server)
        done = subprocess.run(
            ["bash", "-e", "-c", _journey_script(port, document)], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        approval, log = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
        assert approval["status"] == "approved"
        assert [(e["actor"], e["resource"], e["outcome"]) for e in log["items"]] == [
            ("sam", "orders/17", "allowed")
        ]
        assert {p.name for p in (tmp_path / "var").iterdir()} >= {"keys", "auth.secret", "signing.pem"}
        assert [p.name for p in (tmp_path / "var" / "keys").iterdir()] == ["epoch-00000001.kek"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "http://127.0.0.1:%d/docs" % port in output


def _wait_until_healthy(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()[0]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("ledger serve did not answer /healthz within 30 s")
