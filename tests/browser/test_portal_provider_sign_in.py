"""A customer admin signs in to the portal at their organisation's OpenID Provider, in Chromium.

The provider is a real one (oidc-provider, tests/identity_provider.py) on 127.0.0.1; the ledger
is served as http://localhost:<port>, another site, so the browser's cookies behave as they
do between a company's identity provider and the ledger. Staff reach the API with the
provider's client-credentials tokens.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlparse

import httpx
import pytest

from tests.browser.conftest import free_port, running_ledger
from tests.conftest import make_settings
from tests.identity_provider import OpenIDProvider, openid_provider, private_jwk

pytestmark = pytest.mark.browser

API = "https://ledger.example/api"
CUSTOMERS = ("carla", "dora", "erin", "frank", "rita")
SECRETS = {
    "portal": "portal-secret", "staff-robot": "staff-secret", "officer-robot": "officer-secret",
}


@dataclass
class World:
    url: str  # the ledger as the browser sees it
    api_url: str
    idp: OpenIDProvider
    tenant: str

    def api(self, method: str, path: str, client: str, json: Any = None) -> dict[str, Any]:
        token = self.idp.client_credentials_token(client, SECRETS[client], API, scope="ledger")
        answer = httpx.request(
            method, self.api_url + path, json=json, timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code < 300, (answer.status_code, answer.text)
        return dict(answer.json())


def _robot(client_id: str, role: str) -> dict[str, Any]:
    return {
        "client_id": client_id, "client_secret": SECRETS[client_id],
        "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
        "extra_claims": {"roles": [role]},
    }


def _accounts(tenant: str) -> dict[str, Any]:
    customer = {"roles": ["Ledger.Customer"], "tenant": tenant}
    accounts = {name: {"name": name.title(), **customer} for name in CUSTOMERS}
    accounts["olga"] = {"name": "Olga", "roles": ["Ledger.Officer"]}
    return accounts


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("provider-sign-in")
    ledger_port, idp_port = free_port(), free_port()
    ledger = f"http://localhost:{ledger_port}"
    config = {
        "port": idp_port,
        "jwks": {"keys": [private_jwk("RSA", "first-key")]},
        "clients": [
            {
                "client_id": "portal", "client_secret": SECRETS["portal"],
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [f"{ledger}/portal/login/callback"],
                "post_logout_redirect_uris": [f"{ledger}/portal/login?notice=logged-out"],
            },
            _robot("staff-robot", "Ledger.Staff"),
            _robot("officer-robot", "Ledger.Officer"),
        ],
        "resources": [{"indicator": API, "scope": "ledger", "alg": "RS256"}],
        "accounts": {},
        "claims": {"openid": ["sub"], "profile": ["name"], "ledger": ["roles", "tenant"]},
    }
    settings = make_settings(
        f"sqlite:///{base}/ledger.sqlite", base / "var", public_url=ledger,
        oidc_issuer=[f"http://127.0.0.1:{idp_port}"], oidc_audience=API,
        oidc_role_map={
            "Ledger.Customer": "customer", "Ledger.Staff": "staff", "Ledger.Officer": "officer",
        },
        oidc_tenant_claim="tenant", oidc_portal_client_id="portal",
        oidc_portal_client_secret=SECRETS["portal"], oidc_portal_scopes="openid profile ledger",
        oidc_session_check_seconds=1, oidc_keys_cache_seconds=1, oidc_keys_refetch_seconds=0,
    )
    with openid_provider(base / "idp", config) as idp, running_ledger(settings, ledger_port):
        world = World(ledger, f"http://127.0.0.1:{ledger_port}", idp, tenant="")
        world.tenant = world.api("POST", "/v1/tenants", "officer-robot", {"name": "Acme"})["id"]
        idp.restart(accounts=_accounts(world.tenant))  # the accounts now name the tenant
        yield world


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def _to_provider(page: Any, world: World) -> None:
    page.goto(world.url + "/portal")
    page.get_by_role("link", name="Sign in with your organisation").click()
    page.wait_for_url(f"{world.idp.issuer}/**")


def _sign_in(page: Any, world: World, account: str) -> None:
    _to_provider(page, world)
    page.locator("input[name=login]").fill(account)
    page.locator("input[name=password]").fill("any password")
    page.locator("button[type=submit]").click()


def _signed_in(page: Any, world: World, account: str) -> None:
    _sign_in(page, world, account)
    page.wait_for_selector("text=Signed in as")
    assert page.url == world.url + "/portal"
    assert account in page.locator(".who").inner_text()


def test_a_customer_admin_signs_in_at_the_provider_approves_a_request_and_signs_out(
    page: Any, world: World, screenshot_dir: Path
) -> None:
    asked = world.api("POST", f"/v1/tenants/{world.tenant}/access-requests", "staff-robot", {
        "scope": "read", "resources": ["orders"], "reason": "Ticket 9: totals",
        "duration_minutes": 60,
    })
    world.api("GET", f"/v1/requests?min_position={asked['position']}", "officer-robot")
    page.goto(world.url + "/portal")
    assert page.locator("textarea[name=token]").count() == 0  # no token is taken here
    page.screenshot(path=str(screenshot_dir / "portal-provider-login.png"), full_page=True)
    _signed_in(page, world, "carla")
    assert world.tenant in page.locator(".who").inner_text()

    card = page.locator(f"#request-{asked['id']}")
    card.get_by_role("button", name="Approve").click()
    page.wait_for_selector("text=The request was approved.")
    state = world.api("GET", f"/v1/access-requests/{asked['id']}", "staff-robot")
    assert state["status"] == "approved" and state["decided_by"] == "carla"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{world.idp.issuer}/**")  # the provider asks to confirm
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_selector("text=You are logged out.")
    assert page.url.startswith(world.url + "/portal/login")
    page.goto(world.url + "/portal")
    assert page.get_by_role("link", name="Sign in with your organisation").is_visible()


def test_a_pasted_token_or_a_login_link_cannot_log_in_when_customers_sign_in_at_the_provider(
    world: World,
) -> None:
    with httpx.Client(base_url=world.api_url, timeout=30) as browser:
        form = browser.get("/portal/login")
        pasted = browser.post("/portal/login", data={"token": "eyJ.any.token"})
        followed = browser.get("/portal/login", params={"link": "any-link"})
    assert "Sign in with your organisation" in form.text and 'name="token"' not in form.text
    for answer in (pasted, followed):
        assert answer.status_code == 403
        assert "signs you in through your organisation" in answer.text


def test_an_answer_with_a_forged_state_is_refused(page: Any, world: World) -> None:
    _to_provider(page, world)
    answer = page.goto(world.url + "/portal/login/callback?" + urlencode(
        {"code": "made-up", "state": "forged", "iss": world.idp.issuer}
    ))
    assert answer.status == 400
    assert "does not belong to the sign-in this browser started" in page.content()


def test_a_replayed_answer_from_the_provider_signs_nobody_in(page: Any, world: World) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/login/callback" in r.url else None)
    _signed_in(page, world, "erin")
    (first,) = callbacks

    # The same answer again, in the same browser: its sign-in is used up.
    answer = page.goto(first)
    assert answer.status == 400 and "was finished already" in page.content()

    # Its code with a new sign-in's state: the provider refuses to redeem a code twice.
    # The browser's own cookies, without following the provider's answer to the portal.
    answer = page.context.request.get(world.url + "/portal/login/provider", max_redirects=0)
    while not answer.headers["location"].startswith(world.url):  # the provider knows erin
        location = urljoin(world.idp.issuer, answer.headers["location"])
        answer = page.context.request.get(location, max_redirects=0)
    state = parse_qs(urlparse(answer.headers["location"]).query)["state"][0]
    code = parse_qs(urlparse(first).query)["code"][0]
    answer = page.goto(world.url + "/portal/login/callback?" + urlencode(
        {"code": code, "state": state, "iss": world.idp.issuer}
    ))
    assert answer.status == 400, page.locator(".error").inner_text()
    assert "refused the sign-in: invalid_grant" in page.locator(".error").inner_text()


def test_an_officer_signing_in_at_the_provider_is_refused_by_the_portal(
    page: Any, world: World
) -> None:
    _sign_in(page, world, "olga")
    page.wait_for_selector("text=This portal is for customer administrators")
    assert "'officer'" in page.content()
    page.goto(world.url + "/portal")
    assert page.locator("text=Signed in as").count() == 0


def test_disabling_the_account_at_the_provider_ends_the_session_at_the_next_check(
    page: Any, world: World
) -> None:
    _signed_in(page, world, "dora")
    time.sleep(1.2)
    page.reload()  # a refresh at the provider, which still says yes
    assert page.locator("text=Signed in as").is_visible()
    world.idp.disable_account("dora")
    time.sleep(1.2)
    page.reload()
    page.wait_for_selector("text=no longer accepts it")
    assert page.get_by_role("link", name="Sign in with your organisation").is_visible()
    page.goto(world.url + "/portal/log")
    assert page.locator("text=Signed in as").count() == 0


def test_a_session_outlasts_an_outage_of_the_provider(page: Any, world: World) -> None:
    _signed_in(page, world, "frank")
    world.idp.stop()
    try:
        time.sleep(1.2)  # a check is due, and the provider does not answer
        page.reload()
        assert page.locator("text=Signed in as").is_visible()
    finally:
        world.idp.start()  # a fresh provider: it has forgotten frank's refresh token
    time.sleep(1.2)  # the check is tried again after a short pause (here: the check interval)
    page.reload()
    page.wait_for_selector("text=no longer accepts it")


def test_rotating_the_providers_keys_ends_the_sessions_signed_with_the_old_key(
    page: Any, world: World
) -> None:
    # Last in this file: the provider keeps its new key for whatever follows.
    _signed_in(page, world, "rita")
    world.idp.restart(jwks={"keys": [private_jwk("RSA", "second-key")]})
    time.sleep(1.2)  # the ledger's copy of the keys is kept for a second
    page.goto(world.url + "/portal/incidents")
    page.wait_for_selector("text=no longer publishes the key")
    assert page.locator("text=Signed in as").count() == 0
