"""The API takes access tokens from a real OpenID Provider (oidc-provider, tests/idp/) and only
those meant for it: right issuer, right audience, a sane lifetime, a role that maps.

Each client of the provider stands for one caller: the support desk's staff, an officer, a
customer's administrator. Their tokens come from the provider's token endpoint exactly as a
real client would get them (client credentials, RFC 8707 resource indicators).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.identity_provider import OpenIDProvider, openid_provider, private_jwk

API = "https://ledger.example/api"
PAYROLL = "https://payroll.example/api"
TENANT = str(uuid.UUID("5b2f9c1e-4d7a-4e0b-9a51-2c6f0d8e7a13"))
ROLE_MAP = {
    "Ledger.Staff": "staff", "Ledger.Officer": "officer", "Ledger.Customer": "customer",
    "Ledger.Auditor": "auditor",
}


def client(client_id: str, token_ttl: int = 600, **claims: Any) -> dict[str, Any]:
    return {
        "client_id": client_id, "client_secret": f"{client_id}-secret",
        "grant_types": ["client_credentials"], "response_types": [], "redirect_uris": [],
        "extra_claims": {"preferred_username": f"{client_id}@example.org", **claims},
        "token_ttl": token_ttl,
    }


def provider_config(keys: list[dict[str, Any]] | None = None, alg: str = "RS256") -> dict[str, Any]:
    return {
        "jwks": {"keys": keys or [private_jwk("RSA", "first")]},
        "clients": [
            client("support-desk", roles=["Ledger.Staff"]),
            client("officer-desk", roles=["Ledger.Officer"]),
            client("customer-admin", roles=["Ledger.Customer"], tenant=TENANT),
            client("customer-without-tenant", roles=["Ledger.Customer"]),
            client("acme-admin", roles=["Ledger.Customer"], tenant="acme-org"),
            client("payroll-admin", roles=["Payroll.Admin"]),
            client("month-long", token_ttl=30 * 86400, roles=["Ledger.Staff"]),
            client("two-seconds", token_ttl=2, roles=["Ledger.Officer"]),
        ],
        "resources": [
            {"indicator": API, "scope": "ledger", "alg": alg},
            {"indicator": PAYROLL, "scope": "payroll", "alg": "RS256"},
        ],
    }


def ledger_for(tmp_path: Path, issuers: list[str], database_url: str | None = None,
               **overrides: Any) -> TestClient:
    settings = make_settings(
        database_url or f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var",
        oidc_issuer=issuers, oidc_audience=API, oidc_role_map=ROLE_MAP,
        oidc_actor_claim="preferred_username", oidc_scopes=["ledger"], **overrides,
    )
    return TestClient(create_app(settings, clock=MovableClock()))


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIDProvider]:
    with openid_provider(tmp_path_factory.mktemp("idp"), provider_config()) as provider:
        yield provider


@pytest.fixture
def ledger(tmp_path: Path, idp: OpenIDProvider) -> Iterator[TestClient]:
    with ledger_for(tmp_path, [idp.issuer]) as client:
        yield client


def token(idp: OpenIDProvider, client_id: str, resource: str = API) -> str:
    return idp.client_credentials_token(client_id, f"{client_id}-secret", resource)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_staff_token_from_the_provider_asks_for_access_and_the_customers_token_approves_it(
    tmp_path: Path, idp: OpenIDProvider, durable_database_url: str,
) -> None:
    with ledger_for(tmp_path, [idp.issuer], durable_database_url) as ledger:
        opened = ledger.post(
            "/v1/tenants", json={"name": "Acme B.V."}, headers=bearer(token(idp, "officer-desk"))
        )
        assert opened.status_code == 201, opened.text
        tenant = opened.json()["id"]
    # The customer's organisation at the provider ("acme-org") is mapped to the new tenant.
    with ledger_for(tmp_path, [idp.issuer], durable_database_url,
                    oidc_tenant_map={"acme-org": tenant}) as ledger:
        asked = ledger.post(
            f"/v1/tenants/{tenant}/access-requests", headers=bearer(token(idp, "support-desk")),
            json={"scope": "read", "resources": ["orders"], "reason": "ticket 4711"},
        )
        assert asked.status_code == 201, asked.text
        approved = ledger.post(
            f"/v1/access-requests/{asked.json()['id']}/approve",
            headers=bearer(token(idp, "acme-admin")), json={},
        )
        assert approved.status_code == 200, approved.text
        seen = ledger.get(
            f"/v1/access-requests/{asked.json()['id']}",
            params={"min_position": approved.json()["position"]},
            headers=bearer(token(idp, "acme-admin")),
        ).json()
        assert (seen["status"], seen["requester"], seen["decided_by"]) == (
            "approved", "support-desk@example.org", "acme-admin@example.org"
        )


@pytest.mark.parametrize(
    ("client_id", "resource", "detail"),
    [
        ("support-desk", PAYROLL, "for another audience; this ledger is 'https://ledger.example/api'"),
        ("payroll-admin", API, "'Payroll.Admin') maps to no role of this ledger"),
        ("customer-without-tenant", API, "must name their tenant in the 'tenant' claim"),
        ("month-long", API, "this ledger takes tokens of at most 86400 s (LEDGER_MAX_TOKEN_TTL)"),
    ],
    ids=["another audience", "unknown role value", "customer without a tenant",
         "over-long lifetime"],
)
def test_tokens_the_provider_issued_but_not_for_a_caller_of_this_ledger_are_refused(
    ledger: TestClient, idp: OpenIDProvider, client_id: str, resource: str, detail: str,
) -> None:
    refused = ledger.get("/v1/tenants", headers=bearer(token(idp, client_id, resource)))

    assert refused.status_code == 401
    assert detail in refused.json()["detail"]
    assert 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource"' in (
        refused.headers["www-authenticate"]
    )


def test_an_expired_token_from_the_provider_is_refused(
    ledger: TestClient, idp: OpenIDProvider,
) -> None:
    short = token(idp, "two-seconds")
    assert ledger.get("/v1/tenants", headers=bearer(short)).status_code == 200
    time.sleep(max(0.0, jwt.decode(short, options={"verify_signature": False})["exp"] - time.time()) + 0.1)

    refused = ledger.get("/v1/tenants", headers=bearer(short))

    assert refused.status_code == 401
    assert refused.json()["detail"] == "the token has expired"


def test_a_token_of_another_issuer_is_refused_even_from_a_real_provider(
    tmp_path: Path, idp: OpenIDProvider,
) -> None:
    with openid_provider(tmp_path / "other", provider_config()) as other:
        foreign = token(other, "officer-desk")
    with ledger_for(tmp_path, [idp.issuer]) as ledger:
        refused = ledger.get("/v1/tenants", headers=bearer(foreign))

    assert refused.status_code == 401
    assert f"issued by '{other.issuer}', which this ledger does not trust" in refused.json()["detail"]


def test_two_trusted_issuers_each_verify_their_own_tokens(
    tmp_path: Path, idp: OpenIDProvider,
) -> None:
    with openid_provider(tmp_path / "other", provider_config([private_jwk("EC", "ec")], "ES256")) as other:
        with ledger_for(tmp_path, [idp.issuer, other.issuer]) as ledger:
            for provider in (idp, other):
                answer = ledger.get("/v1/tenants", headers=bearer(token(provider, "officer-desk")))
                assert answer.status_code == 200, answer.text


def test_a_token_of_the_ledgers_own_making_is_refused_once_a_provider_is_configured(
    ledger: TestClient,
) -> None:
    forged = jwt.encode({"sub": "olga", "role": "officer", "exp": int(time.time()) + 60},
                        "x" * 48, algorithm="HS256")

    refused = ledger.get("/v1/tenants", headers=bearer(forged))

    assert refused.status_code == 401
    assert "must be signed with one of RS256, ES256, EdDSA" in refused.json()["detail"]


def test_a_rotated_key_is_taken_without_a_restart_and_a_removed_one_refused_after_the_cache_time(
    tmp_path: Path,
) -> None:
    first, second = private_jwk("RSA", "first"), private_jwk("RSA", "second")
    with openid_provider(tmp_path / "idp", provider_config([first])) as idp, ledger_for(
        tmp_path, [idp.issuer], oidc_keys_cache_seconds=2, oidc_keys_refetch_seconds=0.5,
    ) as ledger:
        old = token(idp, "officer-desk")
        assert ledger.get("/v1/tenants", headers=bearer(old)).status_code == 200

        idp.restart(jwks={"keys": [second, first]})  # the provider now signs with `second`
        new = token(idp, "officer-desk")
        assert jwt.get_unverified_header(new)["kid"] == "second"
        time.sleep(0.6)  # one refetch interval
        assert ledger.get("/v1/tenants", headers=bearer(new)).status_code == 200
        assert ledger.get("/v1/tenants", headers=bearer(old)).status_code == 200

        idp.restart(jwks={"keys": [second]})  # `first` is withdrawn
        time.sleep(2.1)  # LEDGER_OIDC_KEYS_CACHE_SECONDS
        refused = ledger.get("/v1/tenants", headers=bearer(old))
        assert refused.status_code == 401
        assert "signed with a key (first) that" in refused.json()["detail"]
        assert ledger.get("/v1/tenants", headers=bearer(new)).status_code == 200


def test_tokens_with_made_up_key_ids_cost_one_fetch_per_interval_not_one_per_request(
    tmp_path: Path, idp: OpenIDProvider,
) -> None:
    real = token(idp, "officer-desk")
    claims = jwt.decode(real, options={"verify_signature": False})
    attacker = rsa.generate_private_key(65537, 2048)
    with ledger_for(tmp_path, [idp.issuer], oidc_keys_refetch_seconds=1) as ledger:
        assert ledger.get("/v1/tenants", headers=bearer(real)).status_code == 200
        keys = ledger.app.state.token_verifier.provider(idp.issuer)
        fetched = keys.fetches
        time.sleep(1.1)  # the refetch interval has passed: one fetch is allowed again

        for number in range(20):
            fake = jwt.encode(claims, attacker, "RS256", headers={"kid": f"made-up-{number}"})
            refused = ledger.get("/v1/tenants", headers=bearer(fake))
            assert refused.status_code == 401
            assert f"signed with a key (made-up-{number})" in refused.json()["detail"]

        assert keys.fetches - fetched == 1


def test_the_protected_resource_metadata_names_the_issuers_audience_and_scopes(
    ledger: TestClient, idp: OpenIDProvider,
) -> None:
    metadata = ledger.get("/.well-known/oauth-protected-resource").json()

    assert metadata["resource"] == API
    assert metadata["authorization_servers"] == [idp.issuer]
    assert metadata["scopes_supported"] == ["ledger"]
    schemes = ledger.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["oidc"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": f"{idp.issuer}/.well-known/openid-configuration",
        "description": f"an access token issued by {idp.issuer} for the audience {API}",
    }
    tenants = ledger.get("/openapi.json").json()["paths"]["/v1/tenants"]["get"]
    assert {"oidc": []} in tenants["security"]


def test_a_provider_that_cannot_be_reached_is_a_503_and_is_not_asked_again_on_every_request(
    tmp_path: Path,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        silent = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once closed
    claims = {"iss": silent, "aud": API, "exp": int(time.time()) + 60, "roles": ["Ledger.Officer"],
              "preferred_username": "olga"}
    signed = jwt.encode(claims, rsa.generate_private_key(65537, 2048), "RS256",
                        headers={"kid": "k"})
    with ledger_for(tmp_path, [silent], oidc_keys_refetch_seconds=60) as ledger:
        first = ledger.get("/v1/tenants", headers=bearer(signed))
        again = ledger.get("/v1/tenants", headers=bearer(signed))
        keys = ledger.app.state.token_verifier.provider(silent)

    assert first.status_code == 503 and first.headers["retry-after"] == "30"
    assert f"the identity provider {silent}/.well-known/openid-configuration cannot be reached" in (
        first.json()["detail"]
    )
    assert again.status_code == 503
    assert keys.fetches == 1
