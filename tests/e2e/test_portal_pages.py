"""The customer portal through FastAPI's TestClient: login, decisions, the log, isolation.

Everything a customer admin does in a browser, minus the browser: the pages are fetched and
the forms posted as a browser would (cookies, hidden CSRF fields, redirects). Requests and
accesses are made through the HTTP API, as staff would.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.http.auth import mint_token
from api.portal.login_links import mint_login_link
from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings


@dataclass
class World:
    settings: Settings
    client: TestClient
    clock: MovableClock

    def token(self, role: str, actor: str, tenant: object = None, ttl: int = 3600) -> str:
        return mint_token(self.settings, role, actor, tenant=tenant, ttl=ttl)

    def api(self, method: str, path: str, token: str, json: Any = None) -> Any:
        response = self.client.request(
            method, path, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json()

    def caught_up(self, position: int) -> None:
        """Read-your-writes through the API's own contract (min_position)."""
        officer = self.token("officer", "olga")
        response = self.client.get(
            f"/v1/requests?min_position={position}",
            headers={"Authorization": f"Bearer {officer}"},
        )
        assert response.status_code == 200, response.text

    def tenant(self, name: str) -> str:
        return self.api("POST", "/v1/tenants", self.token("officer", "olga"), {"name": name})["id"]

    def staff_request(self, tenant: str, staff: str = "sam", **overrides: Any) -> dict[str, Any]:
        body = {
            "scope": "export", "resources": ["orders", "invoices"],
            "reason": "Ticket 4711: the export to the accountant fails", "ticket": "T-4711",
            "duration_minutes": 120, **overrides,
        }
        created = self.api(
            "POST", f"/v1/tenants/{tenant}/access-requests", self.token("staff", staff), body
        )
        self.caught_up(created["position"])
        return created

    def staff_access(self, request_id: str, resource: str, staff: str = "sam") -> dict[str, Any]:
        response = self.client.post(
            f"/v1/access-requests/{request_id}/accesses",
            json={"resource": resource, "action": "read"},
            headers={"Authorization": f"Bearer {self.token('staff', staff)}"},
        )
        body = response.json()
        position = body.get("position")
        if position is not None:
            self.caught_up(position)
        return body

    def browser(self) -> TestClient:
        """A second browser: its own cookie jar on the same app."""
        return TestClient(self.client.app)


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name!r} on the page"
    return match.group(1)


def log_in(client: TestClient, token: str) -> Any:
    page = client.get("/portal/login")
    return client.post(
        "/portal/login", data={"token": token, "csrf_token": _hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )


def logged_in(world: World, tenant: str, actor: str = "carla", client: TestClient | None = None
              ) -> TestClient:
    client = client or world.client
    response = log_in(client, world.token("customer", actor, tenant))
    assert response.status_code == 303, response.text
    return client


def csrf_of(client: TestClient) -> str:
    return _hidden(client.get("/portal").text, "csrf_token")


@pytest.fixture
def world(tmp_path: Path, clock: MovableClock) -> Iterator[World]:
    # In memory, and the projections poll often, so that each test takes a fraction of a second.
    settings = make_settings("memory://", tmp_path / "var", poll_interval_ms=5)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield World(settings, client, clock)


# Login
def test_a_visitor_without_a_token_gets_the_login_page_with_strict_security_headers(
    world: World,
) -> None:
    page = world.client.get("/portal")
    assert page.status_code == 200
    assert '<label for="token">' in page.text and 'id="token"' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_customer_logs_in_and_gets_an_httponly_samesite_strict_session_cookie(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    response = log_in(world.client, world.token("customer", "carla", tenant))
    assert response.status_code == 303 and response.headers["location"] == "/portal"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("ledger_portal=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
    assert "Secure" not in cookie  # served over plain http here
    page = world.client.get("/portal")
    assert "Signed in as <strong>carla</strong>" in page.text
    assert tenant in page.text


def test_the_session_cookie_is_secure_when_the_portal_is_served_over_https(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    client = TestClient(world.client.app, base_url="https://testserver")
    response = log_in(client, world.token("customer", "carla", tenant))
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("ledger_portal=")
    )
    assert "Secure" in cookie


@pytest.mark.parametrize("role", ["staff", "officer", "auditor", "system"])
def test_only_customer_tokens_may_log_in_and_others_are_told_why(
    world: World, role: str
) -> None:
    response = log_in(world.client, world.token(role, "someone"))
    assert response.status_code == 403
    assert "for customer administrators" in response.text
    assert f"&#39;{role}&#39;" in response.text
    assert not any(
        c.startswith("ledger_portal=") for c in response.headers.get_list("set-cookie")
    )
    assert "Signed in as" not in world.client.get("/portal").text


def test_an_expired_or_forged_token_cannot_log_in(world: World) -> None:
    tenant = world.tenant("Acme")
    expired = world.token("customer", "carla", tenant, ttl=-10)
    response = log_in(world.client, expired)
    assert response.status_code == 401 and "expired" in response.text
    forged = world.token("customer", "carla", tenant)[:-4] + "AAAA"
    assert log_in(world.client, forged).status_code == 401


def test_the_login_form_without_its_csrf_token_is_refused(world: World) -> None:
    tenant = world.tenant("Acme")
    world.client.get("/portal/login")
    response = world.client.post(
        "/portal/login", data={"token": world.token("customer", "carla", tenant)},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "Signed in as" not in world.client.get("/portal").text


def test_logging_out_ends_the_session_even_for_a_copied_cookie(world: World) -> None:
    tenant = world.tenant("Acme")
    client = logged_in(world, tenant)
    stolen = client.cookies.get("ledger_portal")
    response = client.post(
        "/portal/logout", data={"csrf_token": csrf_of(client)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert "You are logged out" in client.get(response.headers["location"]).text
    replay = world.browser()
    replay.cookies.set("ledger_portal", stolen, path="/portal")
    page = replay.get("/portal")
    assert "Signed in as" not in page.text and 'id="token"' in page.text


def test_a_login_link_logs_the_customer_in_once(world: World) -> None:
    tenant = world.tenant("Acme")
    link = mint_login_link(world.settings, world.token("customer", "carla", tenant))
    assert link.startswith(world.settings.public_url + "/portal/login?link=")
    path = link[len(world.settings.public_url):]
    confirm = world.client.get(path)
    assert confirm.status_code == 200 and "carla" in confirm.text
    form = {"link": _hidden(confirm.text, "link"), "csrf_token": _hidden(confirm.text, "csrf_token")}
    assert world.client.post("/portal/login", data=form, follow_redirects=False).status_code == 303
    assert "Signed in as <strong>carla</strong>" in world.client.get("/portal").text

    again = world.browser()
    confirm = again.get(path)
    form["csrf_token"] = _hidden(confirm.text, "csrf_token")
    response = again.post("/portal/login", data=form, follow_redirects=False)
    assert response.status_code == 400 and "used already" in response.text


def test_a_tampered_login_link_is_refused(world: World) -> None:
    tenant = world.tenant("Acme")
    link = mint_login_link(world.settings, world.token("customer", "carla", tenant))
    path = link[len(world.settings.public_url):]
    tampered = path[:-6] + ("AAAAAA" if not path.endswith("AAAAAA") else "BBBBBB")
    response = world.client.get(tampered)
    assert response.status_code == 400 and "not valid" in response.text


# Deciding on requests
def test_a_pending_request_shows_what_staff_asked_for_and_how_long_is_left(world: World) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant)
    page = logged_in(world, tenant).get("/portal").text
    card = page[page.index(f'id="request-{created["id"]}"'):]
    for fact in ("sam", "export", "orders", "invoices", "Ticket 4711", "T-4711", "120 minutes",
                 "12 h 00 min"):
        assert fact in card


def test_a_customer_approves_with_a_shorter_duration_and_narrower_scope_and_sees_it_at_once(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant)
    client = logged_in(world, tenant)
    response = client.post(
        f"/portal/requests/{created['id']}/approve",
        data={"csrf_token": csrf_of(client), "duration_minutes": "30", "scope": "read",
              "resources": "orders\n"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "The request was approved." in page
    grant = page[page.index(f'id="grant-{created["id"]}"'):]
    assert "read" in grant and "orders" in grant and "30 min" in grant
    assert "invoices" not in grant[: grant.index("</tr>")]
    state = world.api(
        "GET", f"/v1/access-requests/{created['id']}", world.token("staff", "sam")
    )
    assert state["status"] == "approved" and state["granted_resources"] == ["orders"]


def test_approving_for_longer_than_asked_shows_the_rule_on_the_page_not_an_error_500(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant, duration_minutes=60)
    client = logged_in(world, tenant)
    response = client.post(
        f"/portal/requests/{created['id']}/approve",
        data={"csrf_token": csrf_of(client), "duration_minutes": "90"},
    )
    assert response.status_code == 422
    assert "may not lengthen" in response.text
    not_a_number = client.post(
        f"/portal/requests/{created['id']}/approve",
        data={"csrf_token": csrf_of(client), "duration_minutes": "soon"},
    )
    assert not_a_number.status_code == 422 and "duration_minutes" in not_a_number.text


def test_denying_needs_a_reason_and_a_denied_request_cannot_then_be_approved(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant)
    client = logged_in(world, tenant)
    no_reason = client.post(
        f"/portal/requests/{created['id']}/deny", data={"csrf_token": csrf_of(client)}
    )
    assert no_reason.status_code == 422 and "reason is required" in no_reason.text
    denied = client.post(
        f"/portal/requests/{created['id']}/deny",
        data={"csrf_token": csrf_of(client), "reason": "Not during the audit"},
    )
    assert denied.status_code == 200 and "The request was denied." in denied.text
    late = client.post(
        f"/portal/requests/{created['id']}/approve", data={"csrf_token": csrf_of(client)}
    )
    assert late.status_code == 409 and "denied, not pending" in late.text


def test_revoking_an_active_grant_stops_staff_at_once(world: World) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant, scope="read")
    client = logged_in(world, tenant)
    client.post(f"/portal/requests/{created['id']}/approve", data={"csrf_token": csrf_of(client)})
    revoked = client.post(
        f"/portal/requests/{created['id']}/revoke",
        data={"csrf_token": csrf_of(client), "reason": "Done with it"},
    )
    assert "The grant was revoked" in revoked.text
    assert f'id="grant-{created["id"]}"' not in revoked.text
    assert world.staff_access(created["id"], "orders").get("status") == 403


def test_a_forged_form_post_without_the_csrf_token_is_refused_and_changes_nothing(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    created = world.staff_request(tenant)
    client = logged_in(world, tenant)
    for data in ({}, {"csrf_token": "guessed"}):
        response = client.post(f"/portal/requests/{created['id']}/approve", data=data)
        assert response.status_code == 403
        assert "security token is missing or wrong" in response.text
    assert client.post("/portal/logout", data={}).status_code == 403
    state = world.api("GET", f"/v1/access-requests/{created['id']}", world.token("staff", "sam"))
    assert state["status"] == "pending"


# Tenants apart
def test_a_customer_of_another_tenant_sees_none_of_it_and_cannot_decide_on_it(
    world: World,
) -> None:
    acme, globex = world.tenant("Acme"), world.tenant("Globex")
    created = world.staff_request(acme)
    approver = logged_in(world, acme)
    approver.post(f"/portal/requests/{created['id']}/approve",
                  data={"csrf_token": csrf_of(approver)})
    world.staff_access(created["id"], "orders/17")

    other = logged_in(world, globex, actor="gina", client=world.browser())
    for path in ("/portal", "/portal/log", "/portal/log.csv", "/portal/incidents"):
        text = other.get(path).text
        assert created["id"] not in text and "orders/17" not in text and "sam" not in text
    for action in ("approve", "deny", "revoke"):
        response = other.post(
            f"/portal/requests/{created['id']}/{action}",
            data={"csrf_token": csrf_of(other), "reason": "mine now"},
        )
        assert response.status_code == 404
        assert f"no access request with id {created['id']}" in response.text
    unknown = other.post(f"/portal/requests/{uuid4()}/approve", data={"csrf_token": csrf_of(other)})
    assert unknown.status_code == 404  # the same answer as for another tenant's request
    state = world.api("GET", f"/v1/access-requests/{created['id']}", world.token("staff", "sam"))
    assert state["status"] == "approved"


# The access log
def _approved_request(world: World, tenant: str, **overrides: Any) -> dict[str, Any]:
    created = world.staff_request(tenant, scope="read", **overrides)
    client = logged_in(world, tenant, client=world.browser())
    client.post(f"/portal/requests/{created['id']}/approve", data={"csrf_token": csrf_of(client)})
    return created


def test_the_access_log_shows_accesses_and_refusals_newest_first_with_a_chart(
    world: World,
) -> None:
    tenant = world.tenant("Acme")
    created = _approved_request(world, tenant)
    world.staff_access(created["id"], "orders/1")
    world.clock.move(minutes=5)
    world.staff_access(created["id"], "payroll")  # not granted: refused, and logged
    page = logged_in(world, tenant).get("/portal/log").text
    assert page.index("payroll") < page.index("orders/1")
    assert "status-refused" in page and "status-allowed" in page
    assert "<svg" in page and "1 allowed, 1 refused" in page


def test_the_access_log_filters_by_outcome_actor_and_date(world: World) -> None:
    tenant = world.tenant("Acme")
    created = _approved_request(world, tenant)
    world.staff_access(created["id"], "orders/1")
    world.staff_access(created["id"], "payroll")
    client = logged_in(world, tenant)
    refused = client.get("/portal/log?outcome=refused").text
    assert "payroll" in refused and "orders/1" not in refused
    assert "Nothing matches" in client.get("/portal/log?actor=nobody").text
    today = world.clock.now().date()
    assert "orders/1" in client.get(f"/portal/log?since={today}&until={today}").text
    assert "Nothing matches" in client.get("/portal/log?since=2099-01-01").text


def test_a_bad_filter_is_a_422_that_names_the_field(world: World) -> None:
    client = logged_in(world, world.tenant("Acme"))
    response = client.get("/portal/log?since=yesterday")
    assert response.status_code == 422 and "since must be a date" in response.text
    response = client.get("/portal/log?outcome=maybe")
    assert response.status_code == 422 and "outcome must be one of" in response.text


def test_the_access_log_is_paged_with_a_cursor(world: World) -> None:
    tenant = world.tenant("Acme")
    created = _approved_request(world, tenant)
    ledger = world.client.app.state.stores.ledger
    for number in range(55):
        position = ledger.use_access(UUID(created["id"]), "sam", f"orders/{number}", "read").position
        world.clock.move(seconds=1)
    world.caught_up(position)
    client = logged_in(world, tenant)
    first = client.get("/portal/log").text
    assert "orders/54<" in first and "orders/4<" not in first
    older = re.search(r'href="(/portal/log\?[^"]*after=[^"]+)" rel="next"', first)
    assert older, "no link to older entries"
    second = client.get(older.group(1).replace("&amp;", "&")).text
    assert "orders/4<" in second and "orders/0<" in second and "orders/54<" not in second


def test_the_csv_download_holds_the_filtered_log(world: World) -> None:
    tenant = world.tenant("Acme")
    created = _approved_request(world, tenant)
    world.staff_access(created["id"], "orders/1")
    world.staff_access(created["id"], "orders/2", staff="=HYPERLINK(\"http://evil\")")
    client = logged_in(world, tenant)
    response = client.get("/portal/log.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["actor"] for r in rows] == ["'=HYPERLINK(\"http://evil\")", "sam"]
    assert rows[1]["actor"] == "sam" and rows[1]["outcome"] == "allowed"
    assert rows[1]["request_id"] == created["id"]
    refused = list(csv.DictReader(io.StringIO(client.get("/portal/log.csv?outcome=refused").text)))
    assert [r["actor"] for r in refused] == ["'=HYPERLINK(\"http://evil\")"]


# Incidents and disclosures
def test_incidents_and_disclosures_show_this_tenant_only(world: World) -> None:
    acme, globex = world.tenant("Acme"), world.tenant("Globex")
    officer = world.token("officer", "olga")
    world.api("POST", "/v1/incidents", officer, {
        "title": "Backup bucket exposed", "description": "A misconfigured bucket",
        "severity": "high", "tenant_ids": [acme, globex],
    })
    disclosed = world.api("POST", f"/v1/tenants/{globex}/disclosures", officer, {
        "recipient": "Tax office", "legal_basis": "legal_obligation", "reference": "AWR-2026-1",
    })
    world.caught_up(disclosed["position"])
    page = logged_in(world, acme).get("/portal/incidents").text
    assert "Backup bucket exposed" in page
    assert globex not in page  # never which other tenants were involved
    assert "Tax office" not in page
    other = logged_in(world, globex, actor="gina", client=world.browser()).get("/portal/incidents")
    assert "Tax office" in other.text and "legal obligation" in other.text


def test_sessions_and_login_links_work_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    settings = make_settings(pg_url, tmp_path / "var")
    with TestClient(create_app(settings)) as client:
        tenant = UUID(int=7)
        token = mint_token(settings, "customer", "carla", tenant=tenant)
        assert log_in(client, token).status_code == 303
        assert "Signed in as" in client.get("/portal").text
        client.post("/portal/logout", data={"csrf_token": csrf_of(client)})
        assert "Signed in as" not in client.get("/portal").text
        path = mint_login_link(settings, token)[len(settings.public_url):]
        for expected in (303, 400):
            browser = TestClient(client.app)
            confirm = browser.get(path)
            response = browser.post("/portal/login", data={
                "link": _hidden(confirm.text, "link"),
                "csrf_token": _hidden(confirm.text, "csrf_token"),
            }, follow_redirects=False)
            assert response.status_code == expected


def test_login_links_are_minted_for_customer_tokens_only(world: World) -> None:
    with pytest.raises(ValueError, match="customer tokens only"):
        mint_login_link(world.settings, world.token("staff", "sam"))
