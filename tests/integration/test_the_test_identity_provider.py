"""The test OpenID Provider (tests/identity_provider.py) behaves as the ledger's tests rely on."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import httpx
import jwt
import pytest

from tests.identity_provider import (
    OpenIDProvider,
    OpenIDProviderError,
    openid_provider,
    private_jwk,
    provider_available,
    public_jwk,
)

API = "https://ledger.example/api"
CALLBACK = "http://127.0.0.1:9/callback"
SIGNED_OUT = "http://127.0.0.1:9/signed-out"
ALICE = {
    "name": "Alice",
    "email": "alice@example.org",
    "roles": ["Ledger.Customer"],
    "tenant": "t-1",
}


def make_config() -> dict[str, Any]:
    return {
        "jwks": {
            "keys": [
                private_jwk("RSA", "rsa-1"),
                private_jwk("EC", "ec-1"),
                private_jwk("OKP", "ed-1"),
            ]
        },
        "clients": [
            {
                "client_id": "robot",
                "client_secret": "robot-secret",
                "grant_types": ["client_credentials"],
                "response_types": [],
                "redirect_uris": [],
                "extra_claims": {"roles": ["Ledger.Robot"]},
                "token_ttl": 120,
            },
            {
                "client_id": "portal",
                "client_secret": "portal-secret",
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [CALLBACK],
                "post_logout_redirect_uris": [SIGNED_OUT],
            },
        ],
        "resources": [
            {"indicator": API, "scope": "ledger", "alg": "RS256"},
            {"indicator": "https://ec.example/api", "scope": "ledger", "alg": "ES256"},
            {"indicator": "https://ed.example/api", "scope": "ledger", "alg": "EdDSA"},
        ],
        "accounts": {"alice": ALICE},
        "claims": {"openid": ["sub"], "profile": ["name", "email"], "ledger": ["roles", "tenant"]},
    }


@pytest.fixture
def idp(tmp_path: Path) -> Iterator[OpenIDProvider]:
    with openid_provider(tmp_path, make_config()) as provider:
        yield provider


def verified(idp: OpenIDProvider, token: str, audience: str) -> dict[str, Any]:
    """The token's claims, checked against the provider's published JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    (key,) = [k for k in idp.jwks()["keys"] if k["kid"] == kid]
    signing_key = jwt.PyJWK(key)
    return dict(
        jwt.decode(token, signing_key, [key["alg"]], audience=audience, issuer=idp.issuer)
    )


def sign_in(idp: OpenIDProvider, browser: httpx.Client, account: str) -> tuple[str, str]:
    """The code flow with PKCE as a browser goes it: login page, then back to the client."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    answer = browser.get(
        idp.discovery()["authorization_endpoint"],
        params={
            "client_id": "portal",
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": "openid profile ledger",
            "resource": API,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
            "state": "s",
        },
    )
    login_page = browser.get(urljoin(idp.issuer, answer.headers["location"]))
    (action,) = re.findall(r'<form[^>]*action="([^"]+)"', login_page.text)
    answer = browser.post(action, data={"prompt": "login", "login": account, "password": "any"})
    while not answer.headers["location"].startswith(CALLBACK):  # the provider resumes the flow
        answer = browser.get(urljoin(idp.issuer, answer.headers["location"]))
    (code,) = parse_qs(urlparse(answer.headers["location"]).query)["code"]
    return code, verifier


def redeem(idp: OpenIDProvider, code: str, verifier: str) -> dict[str, Any]:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    answer = idp.token_request("portal", "portal-secret", {**data, "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def refresh(idp: OpenIDProvider, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return idp.token_request("portal", "portal-secret", data)


def test_discovery_names_the_endpoints_the_ledger_uses(idp: OpenIDProvider) -> None:
    discovery = idp.discovery()
    assert discovery["issuer"] == idp.issuer
    endpoints = ("jwks_uri", "token_endpoint", "authorization_endpoint", "end_session_endpoint")
    for endpoint in endpoints:
        assert discovery[endpoint].startswith(idp.issuer + "/")


def test_a_client_credentials_token_is_a_jwt_for_the_resource_with_the_clients_claims(
    idp: OpenIDProvider,
) -> None:
    token = idp.client_credentials_token("robot", "robot-secret", API, scope="ledger")
    claims = verified(idp, token, API)
    assert jwt.get_unverified_header(token)["kid"] == "rsa-1"
    assert claims["aud"] == API and claims["iss"] == idp.issuer
    assert claims["sub"] == "robot" and claims["scope"] == "ledger"
    assert claims["roles"] == ["Ledger.Robot"]
    assert claims["exp"] - claims["iat"] == 120


def test_an_unknown_resource_or_none_at_all_is_refused(idp: OpenIDProvider) -> None:
    with pytest.raises(OpenIDProviderError, match="invalid_target"):
        idp.client_credentials_token("robot", "robot-secret", "https://elsewhere.example/api")
    answer = idp.token_request("robot", "robot-secret", {"grant_type": "client_credentials"})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"


def test_es256_and_eddsa_resources_get_tokens_signed_with_their_algorithm(
    idp: OpenIDProvider,
) -> None:
    for resource, alg, kid in (
        ("https://ec.example/api", "ES256", "ec-1"),
        ("https://ed.example/api", "EdDSA", "ed-1"),
    ):
        token = idp.client_credentials_token("robot", "robot-secret", resource)
        assert jwt.get_unverified_header(token) == {"alg": alg, "typ": "at+jwt", "kid": kid}
        assert verified(idp, token, resource)["aud"] == resource


def test_a_restart_with_new_keys_publishes_and_signs_with_the_new_kid(idp: OpenIDProvider) -> None:
    issuer, old = idp.issuer, idp.config["jwks"]["keys"][0]
    new = private_jwk("RSA", "rsa-2")
    idp.restart(jwks={"keys": [new, old]})  # the new key signs, the old one still verifies
    assert idp.issuer == issuer
    assert [k["kid"] for k in idp.jwks()["keys"]] == ["rsa-2", "rsa-1"]
    assert idp.jwks()["keys"][0] == public_jwk(new)
    token = idp.client_credentials_token("robot", "robot-secret", API)
    assert jwt.get_unverified_header(token)["kid"] == "rsa-2"
    assert verified(idp, token, API)["sub"] == "robot"


def test_a_signed_in_user_gets_an_id_token_and_resource_tokens_with_their_claims(
    idp: OpenIDProvider,
) -> None:
    with httpx.Client() as browser:
        code, verifier = sign_in(idp, browser, "alice")
    tokens = redeem(idp, code, verifier)
    id_token = verified(idp, tokens["id_token"], "portal")
    assert {k: id_token[k] for k in ALICE} == ALICE and id_token["sub"] == "alice"
    access = verified(idp, tokens["access_token"], API)
    assert access["roles"] == ["Ledger.Customer"] and access["tenant"] == "t-1"

    refreshed = refresh(idp, tokens["refresh_token"])
    assert verified(idp, refreshed.json()["access_token"], API)["sub"] == "alice"
    idp.disable_account("alice")
    refused = refresh(idp, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_the_code_flow_without_pkce_is_refused(idp: OpenIDProvider) -> None:
    params = {"client_id": "portal", "response_type": "code", "redirect_uri": CALLBACK}
    params["scope"] = "openid"  # everything a code request needs, but a code_challenge
    answer = httpx.get(idp.discovery()["authorization_endpoint"], params=params)
    assert answer.status_code == 303
    error = parse_qs(urlparse(answer.headers["location"]).query)
    assert error["error"] == ["invalid_request"] and "PKCE" in error["error_description"][0]


def test_logout_goes_back_to_the_registered_post_logout_redirect_uri(idp: OpenIDProvider) -> None:
    with httpx.Client() as browser:
        id_token = redeem(idp, *sign_in(idp, browser, "alice"))["id_token"]
        params = {"id_token_hint": id_token, "post_logout_redirect_uri": SIGNED_OUT, "state": "bye"}
        page = browser.get(idp.discovery()["end_session_endpoint"], params=params)
        (action,) = re.findall(r'<form[^>]*action="([^"]+)"', page.text)
        (xsrf,) = re.findall(r'name="xsrf" value="([^"]+)"', page.text)
        answer = browser.post(action, data={"xsrf": xsrf, "logout": "yes"})
    assert answer.status_code == 303 and answer.headers["location"] == f"{SIGNED_OUT}?state=bye"


def test_a_provider_that_cannot_start_says_why(tmp_path: Path) -> None:
    provider_available()
    broken = OpenIDProvider(tmp_path, {**make_config(), "jwks": {"keys": [{"kty": "RSA"}]}})
    with pytest.raises(OpenIDProviderError, match=r"exited with 1(.|\n)*jwks\.keys\[0\]"):
        broken.start()
    assert not broken.running
