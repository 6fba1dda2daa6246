"""A visitor's banner choice through the public endpoints, on every store: what it records, what
the script reads, and each way a choice is refused with nothing recorded."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.conftest import make_settings
from tests.e2e.conftest import Api, created, ok, open_api, problem

ORIGIN = "https://shop.example"
VISITOR = "Zm9yLXRoZS1iYW5uZXItdGVzdA"
OTHER_VISITOR = "YW5vdGhlci12aXNpdG9yLWlk"


def register_site(api: Api, **extra: Any) -> dict[str, Any]:
    officer = api.user("officer", "olga")
    return created(officer.post("/v1/sites", json={
        "name": "Webshop", "origins": [ORIGIN], "notice_version": "2026-03", **extra,
    }))


def choose(
    api: Api, key: str, *, origin: str | None = ORIGIN, headers: dict[str, str] | None = None,
    **body: Any,
) -> Any:
    sent = {"visitor_id": VISITOR, "analytics": True, "tracking": False,
            "notice_version": "2026-03", "language": "en", **body}
    extra = {"Origin": origin} if origin else {}
    return api.anonymous().post(
        f"/v1/banner/{key}/choices", json=sent, headers={**extra, **(headers or {})}
    )


def test_a_choice_is_recorded_as_the_visitors_consents_with_the_notice_shown(api: Api) -> None:
    site = register_site(api)

    response = choose(api, site["key"], analytics=True, tracking=False)

    answer = created(response)
    assert response.headers["access-control-allow-origin"] == ORIGIN  # the page may read it
    visitor = answer["visitor"]
    assert answer["receipt_id"].startswith(f"{visitor}:")
    assert answer["gpc"] is False and answer["notice_version"] == "2026-03"
    assert answer["recorded"] == [
        {"purpose": "analytics_cookies", "status": "given", "method": "cookie_banner"},
        {"purpose": "tracking_cookies", "status": "withdrawn", "method": "cookie_banner"},
    ]
    system = api.user("system", "crm")
    asked = f"/v1/subjects/{visitor}/consents/{{}}?min_position={answer['position']}"
    analytics = ok(system.get(asked.format("analytics_cookies")))
    tracking = ok(system.get(asked.format("tracking_cookies")))
    assert analytics["allowed"] is True and analytics["method"] == "cookie_banner"
    assert tracking["allowed"] is False and tracking["method"] == "cookie_banner"
    assert analytics["notice_version"] == "2026-03"

    officer = api.user("officer", "olga")
    history = ok(officer.get(f"/v1/subjects/{visitor}/history", params={"reason": "test"}))
    events = [item["event"] for item in history["items"]]
    assert events[:2] == ["Arrived", "NoticeShown"]
    receipt = ok(officer.get(f"/v1/subjects/{visitor}/consent-receipts/{answer['receipt_id']}"))
    assert receipt["purpose"] == "tracking_cookies"


def test_the_same_visitor_on_the_same_site_is_one_subject_and_may_change_their_mind(
    api: Api,
) -> None:
    site = register_site(api)
    first = created(choose(api, site["key"], analytics=True))
    second = created(choose(api, site["key"], analytics=False))
    assert first["visitor"] == second["visitor"]
    assert second["receipt_id"] != first["receipt_id"]
    answer = ok(api.user("system", "crm").get(
        f"/v1/subjects/{second['visitor']}/consents/analytics_cookies",
        params={"min_position": second["position"]},
    ))
    assert answer["allowed"] is False


def test_global_privacy_control_refuses_tracking_and_third_party_marketing_with_gpc(
    api: Api,
) -> None:
    site = register_site(api)

    answer = created(choose(api, site["key"], tracking=True, headers={"Sec-GPC": "1"}))

    assert answer["gpc"] is True
    assert answer["recorded"][1:] == [
        {"purpose": "tracking_cookies", "status": "withdrawn", "method": "gpc"},
        {"purpose": "third_party_marketing", "status": "withdrawn", "method": "gpc"},
    ]
    tracking = ok(api.user("system", "crm").get(
        f"/v1/subjects/{answer['visitor']}/consents/tracking_cookies",
        params={"min_position": answer["position"]},
    ))
    assert tracking["allowed"] is False and tracking["method"] == "gpc"


def test_the_config_gives_the_texts_categories_and_gpc_to_the_sites_own_origin(api: Api) -> None:
    site = register_site(api, texts={"nl": {"title": "Koekjes"}})

    response = api.anonymous().get(
        f"/v1/banner/{site['key']}/config", headers={"Origin": ORIGIN, "Sec-GPC": "1"}
    )

    config = ok(response)
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert config["gpc"] is True and config["notice_version"] == "2026-03"
    assert [c["id"] for c in config["categories"]] == ["necessary", "analytics", "tracking"]
    assert config["categories"][0]["fixed"] is True
    assert config["texts"]["nl"]["title"] == "Koekjes"
    assert config["texts"]["en"]["reject_all"] == "Reject all"
    assert config["privacy_center_url"].endswith("/privacy-center")


def test_a_preflight_from_the_sites_origin_allows_a_json_post(api: Api) -> None:
    site = register_site(api)
    response = api.anonymous().request("OPTIONS", f"/v1/banner/{site['key']}/choices", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    })
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "Content-Type" in response.headers["access-control-allow-headers"]
    foreign = api.anonymous().request("OPTIONS", f"/v1/banner/{site['key']}/choices", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
    })
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers


REFUSALS = [
    pytest.param("unknown key", 404, id="another site's or an unknown key"),
    pytest.param("foreign origin", 403, id="a wrong origin"),
    pytest.param("no origin", 403, id="no origin"),
    pytest.param("huge body", 413, id="a huge body"),
    pytest.param("unknown field", 422, id="an unknown field"),
    pytest.param("bad visitor", 422, id="a malformed visitor id"),
    pytest.param("not a bool", 422, id="a choice that is not true or false"),
    pytest.param("not json", 415, id="a form instead of JSON"),
    pytest.param("broken json", 422, id="broken JSON"),
    pytest.param("stale notice", 409, id="a stale notice version"),
]


@pytest.mark.parametrize(("attack", "status"), REFUSALS)
def test_a_refused_choice_records_nothing(api: Api, attack: str, status: int) -> None:
    site = register_site(api)
    key = site["key"]
    before = api.events()
    anonymous = api.anonymous()
    url = f"/v1/banner/{key}/choices"
    if attack == "unknown key":
        response = choose(api, "site_" + "A" * 22)
    elif attack == "foreign origin":
        response = choose(api, key, origin="https://shop.example.evil.example")
    elif attack == "no origin":
        response = choose(api, key, origin=None)
    elif attack == "huge body":
        response = choose(api, key, padding="x" * 4000)
    elif attack == "unknown field":
        response = choose(api, key, ip_address="10.0.0.1")
    elif attack == "bad visitor":
        response = choose(api, key, visitor_id="short")
    elif attack == "not a bool":
        response = choose(api, key, analytics="yes")
    elif attack == "not json":
        response = anonymous.post(url, data={"visitor_id": VISITOR}, headers={"Origin": ORIGIN})
    elif attack == "broken json":
        response = anonymous.post(url, content=b'{"visitor_id": ', headers={
            "Origin": ORIGIN, "Content-Type": "application/json"})
    else:
        response = choose(api, key, notice_version="2025-01")

    body = problem(response, status)
    assert api.events() == before
    if attack in ("unknown field", "bad visitor", "not a bool"):
        assert {"ip_address", "visitor_id", "analytics"} & {e["field"] for e in body["errors"]}
    if attack in ("huge body", "unknown field", "stale notice", "not json"):
        # The site's own page may read why (CORS on the refusal too).
        assert response.headers["access-control-allow-origin"] == ORIGIN


def test_a_flood_from_one_visitor_is_refused_with_retry_after(api: Api) -> None:
    site = register_site(api)
    for _ in range(api.settings.banner_choices_per_visitor):
        created(choose(api, site["key"]))
    before = api.events()

    response = choose(api, site["key"])

    problem(response, 429)
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert api.events() == before
    # Another visitor of the same address is still heard.
    created(choose(api, site["key"], visitor_id=OTHER_VISITOR))


def test_a_retired_site_is_404_and_a_terminated_tenants_site_is_409(api: Api) -> None:
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Shop B.V."}))["id"]
    site = register_site(api, tenant_id=tenant)
    ok(officer.post(f"/v1/tenants/{tenant}/terminate"))
    before = api.events()
    body = problem(choose(api, site["key"]), 409)
    assert "terminated" in body["detail"]
    assert api.events() == before

    ok(officer.request("DELETE", f"/v1/sites/{site['id']}"))
    problem(choose(api, site["key"]), 404)
    problem(api.anonymous().get(f"/v1/banner/{site['key']}/config",
                                headers={"Origin": ORIGIN}), 404)


def test_an_erased_visitor_is_gone_410_and_nothing_more_is_recorded_about_them(api: Api) -> None:
    site = register_site(api)
    visitor = created(choose(api, site["key"]))["visitor"]
    officer = api.user("officer", "olga")
    request = created(officer.post(
        f"/v1/subjects/{visitor}/requests", json={"kind": "erasure", "channel": "web_form"}
    ))["id"]
    ok(officer.post(f"/v1/requests/{request}/verify-identity", json={"method": "cookie id"}))
    ok(officer.post(f"/v1/requests/{request}/fulfil", json={}))
    before = api.events()

    body = problem(choose(api, site["key"]), 410)

    assert "new visitor_id" in body["detail"]
    assert api.events() == before
    fresh = created(choose(api, site["key"], visitor_id=OTHER_VISITOR))
    assert fresh["visitor"] != visitor


@pytest.mark.postgres
def test_a_read_only_process_serves_the_config_but_refuses_a_choice(
    pg_url: str, tmp_path: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read-only process makes every PostgreSQL session of its own read-only (PGOPTIONS):
    # put back after this test, before the test database is dropped.
    monkeypatch.setenv("PGOPTIONS", os.environ.get("PGOPTIONS", ""))

    writing = open_api(make_settings(pg_url, tmp_path / "var", poll_interval_ms=10), clock)
    api = next(writing)
    try:
        site = register_site(api)
        events = api.events()
        reading = open_api(
            make_settings(pg_url, tmp_path / "var", poll_interval_ms=10, read_only=True), clock
        )
        reader = next(reading)
        try:
            config = reader.anonymous().get(
                f"/v1/banner/{site['key']}/config", headers={"Origin": ORIGIN}
            )
            assert ok(config)["site_key"] == site["key"]
            problem(choose(reader, site["key"]), 503)
        finally:
            reading.close()
        assert api.events() == events
    finally:
        writing.close()
