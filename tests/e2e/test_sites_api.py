"""Sites that embed the consent banner (officers register, auditors read), what a site's
description may hold, and linking a site's visitor to a registered subject."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Api, created, fields_named, ok, problem

ORIGIN = "https://shop.example"
VISITOR = "bGlua2luZy10aGUtdmlzaXRvcg"


def site_body(**extra: Any) -> dict[str, Any]:
    return {"name": "Webshop", "origins": [ORIGIN], **extra}


def visit(api: Api, site: dict[str, Any], visitor: str = VISITOR) -> dict[str, Any]:
    return created(api.anonymous().post(
        f"/v1/banner/{site['key']}/choices", headers={"Origin": ORIGIN},
        json={"visitor_id": visitor, "analytics": True, "tracking": True,
              "notice_version": site["notice_version"]},
    ))


def test_an_officer_registers_a_site_and_gets_its_public_key(api: Api) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Shop B.V."}))["id"]

    site = created(officer.post("/v1/sites", json=site_body(
        tenant_id=tenant, origins=["HTTPS://Shop.Example:443", "http://localhost:8080"],
        texts={"en": {"title": "Cookies at the shop"}},
    )))

    assert site["key"].startswith("site_") and len(site["key"]) == 27
    assert site["origins"] == [ORIGIN, "http://localhost:8080"]  # as a browser sends them
    assert site["notice_version"] == api.settings.privacy_notice_version
    assert site["tenant_id"] == tenant and site["texts"]["en"]["title"] == "Cookies at the shop"
    auditor = api.user("auditor", "aude")
    assert ok(auditor.get(f"/v1/sites/{site['id']}"))["key"] == site["key"]
    assert [s["id"] for s in ok(auditor.get("/v1/sites"))["items"]] == [site["id"]]


def test_a_site_is_changed_and_retired_by_an_officer(api: Api) -> None:
    officer = api.user("officer", "olga")
    site = created(officer.post("/v1/sites", json=site_body()))

    changed = ok(officer.patch(f"/v1/sites/{site['id']}", json={"notice_version": "2026-04"}))
    assert changed["notice_version"] == "2026-04" and changed["key"] == site["key"]

    retired = ok(officer.request("DELETE", f"/v1/sites/{site['id']}"))
    assert retired["retired_at"] is not None
    problem(officer.patch(f"/v1/sites/{site['id']}", json={"name": "Again"}), 409)


@pytest.mark.parametrize(("body", "field"), [
    (site_body(origins=["https://shop.example/path"]), "origins"),
    (site_body(origins=["ftp://shop.example"]), "origins"),
    (site_body(origins=["https://shop.example?x=1"]), "origins"),
    (site_body(origins=[f"https://s{i}.example" for i in range(21)]), "origins"),
    (site_body(origins=[]), "origins"),
    (site_body(texts={"de": {"title": "Kekse"}}), "texts"),
    (site_body(texts={"en": {"headline": "Cookies"}}), "texts.en.headline"),
    (site_body(texts={"en": {"title": "<b>Cookies</b>"}}), "texts.en.title"),
    (site_body(texts={"en": {"title": "x" * 501}}), "texts.en.title"),
    (site_body(tenant_id="6f1c7c9e-0000-4000-8000-000000000000"), "tenant_id"),
    (site_body(colour="red"), "colour"),
], ids=["path", "scheme", "query", "too many", "none", "language", "unknown text", "html",
        "long text", "unknown tenant", "unknown field"])
def test_a_bad_site_description_is_422_naming_the_field(
    sqlite_api: Api, body: dict[str, Any], field: str
) -> None:
    officer = sqlite_api.user("officer", "olga")
    assert field in fields_named(officer.post("/v1/sites", json=body))
    assert ok(officer.get("/v1/sites"))["items"] == []


def test_only_an_officer_registers_a_site(sqlite_api: Api) -> None:
    for role in ("system", "auditor", "staff"):
        problem(sqlite_api.user(role, "x").post("/v1/sites", json=site_body()), 403)
    customer = sqlite_api.user("customer", "carla", tenant="6f1c7c9e-0000-4000-8000-000000000000")
    problem(customer.post("/v1/sites", json=site_body()), 403)
    problem(sqlite_api.anonymous().post("/v1/sites", json=site_body()), 401)


def test_a_visitor_shows_up_as_a_subject_without_name_or_email(api: Api) -> None:
    officer = api.user("officer", "olga")
    site = created(officer.post("/v1/sites", json=site_body()))
    choice = visit(api, site)

    profile = ok(officer.get(
        f"/v1/subjects/{choice['visitor']}",
        params={"min_position": choice["position"], "reason": "test"},
    ))

    assert profile["kind"] == "visitor"
    assert profile["name"] is None and profile["email"] is None
    assert profile["consents"]["analytics_cookies"]["method"] == "cookie_banner"
    exported = ok(officer.get(
        f"/v1/subjects/{choice['visitor']}/export", params={"format": "json", "reason": "test"}
    ))
    assert "NoticeShown" not in str(exported)  # told in words, not in event names
    assert "notice 1 shown" in str(exported)


def test_a_visitor_is_linked_to_a_registered_subject_once(api: Api) -> None:
    officer = api.user("officer", "olga")
    system = api.user("system", "crm")
    site = created(officer.post("/v1/sites", json=site_body()))
    visitor = visit(api, site)["visitor"]
    person = created(system.post("/v1/subjects", json={"name": "Jan", "email": "jan@example.org"}))

    linked = created(system.post(
        f"/v1/subjects/{person['id']}/visitors",
        json={"site_id": site["id"], "visitor_id": VISITOR},
    ))

    assert linked["visitor"] == visitor and linked["subject_id"] == person["id"]
    events = api.events()
    again = ok(system.post(
        f"/v1/subjects/{person['id']}/visitors",
        json={"site_id": site["id"], "visitor_id": VISITOR},
    ))
    assert again["position"] is None and api.events() == events
    history = ok(officer.get(f"/v1/subjects/{visitor}/history", params={"reason": "test"}))
    assert history["items"][-1]["event"] == "LinkedTo"
    assert history["items"][-1]["data"]["subject_id"] == person["id"]

    someone_else = created(system.post(
        "/v1/subjects", json={"name": "Piet", "email": "piet@example.org"}
    ))
    events = api.events()
    body = problem(system.post(
        f"/v1/subjects/{someone_else['id']}/visitors",
        json={"site_id": site["id"], "visitor_id": VISITOR},
    ), 409)
    assert "another subject" in body["detail"]
    assert api.events() == events


def test_linking_refuses_an_unknown_visitor_and_another_tenants_subject(api: Api) -> None:
    officer = api.user("officer", "olga")
    site = created(officer.post("/v1/sites", json=site_body()))
    visit(api, site)
    tenant = created(officer.post("/v1/tenants", json={"name": "Shop B.V."}))["id"]
    person = created(officer.post(
        "/v1/subjects", json={"tenant_id": tenant, "name": "Jan", "email": "jan@example.org"}
    ))
    events = api.events()
    url = f"/v1/subjects/{person['id']}/visitors"

    unknown = problem(officer.post(url, json={
        "site_id": site["id"], "visitor_id": "bm9ib2R5LWV2ZXItY2FtZS1oZXJl"}), 404)
    assert "bm9ib2R5LWV2ZXItY2FtZS1oZXJl" in unknown["detail"]
    tenants = problem(officer.post(url, json={"site_id": site["id"], "visitor_id": VISITOR}), 409)
    assert "different tenants" in tenants["detail"]
    assert fields_named(officer.post(url, json={
        "site_id": "6f1c7c9e-0000-4000-8000-000000000000", "visitor_id": VISITOR})) == {"site_id"}
    assert api.events() == events


def test_sites_are_listed_in_pages_in_the_order_registered(sqlite_api: Api) -> None:
    officer = sqlite_api.user("officer", "olga")
    made = []
    for i in range(3):
        made.append(created(officer.post("/v1/sites", json=site_body(name=f"Shop {i}")))["id"])
        sqlite_api.clock.move(seconds=1)
    first = ok(officer.get("/v1/sites", params={"limit": 2}))
    rest = ok(officer.get("/v1/sites", params={"limit": 2, "after": first["next"]}))
    assert [s["id"] for s in first["items"] + rest["items"]] == made
    assert rest["next"] is None
    assert fields_named(officer.get("/v1/sites", params={"after": "bm9wZQ"})) == {"after"}
