"""Bearer tokens: every kind of bad token is a 401 problem; RS256 works with a configured key."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from api import keyfiles
from api.cli.main import app as cli
from api.settings import get_settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, open_api, problem

PROTECTED = "/v1/requests"


def hs256(api: Api, claims: dict[str, Any], secret: str | None = None) -> str:
    return jwt.encode(claims, secret or keyfiles.auth_secret(api.settings), algorithm="HS256")


def officer_claims(**changes: Any) -> dict[str, Any]:
    claims = {"sub": "olga", "role": "officer", "exp": int(time.time()) + 600}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def called_with(api: Api, token: str) -> Any:
    return api.client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})


def test_a_good_token_is_let_through(sqlite_api: Api) -> None:
    assert called_with(sqlite_api, hs256(sqlite_api, officer_claims())).status_code == 200


@pytest.mark.parametrize(
    ("kind", "claims"),
    [
        ("expired", officer_claims(exp=int(time.time()) - 10)),
        ("without sub", officer_claims(sub=None)),
        ("without role", officer_claims(role=None)),
        ("without exp", officer_claims(exp=None)),
        ("with an unknown role", officer_claims(role="admin")),
        ("of a customer without tenant", officer_claims(role="customer")),
        ("of a customer whose tenant is no id", officer_claims(role="customer", tenant="acme")),
        ("with an empty sub", officer_claims(sub="  ")),
    ],
)
def test_a_token_that_is_signed_but_wrong_is_401(sqlite_api: Api, kind: str, claims: dict[str, Any]) -> None:
    body = problem(called_with(sqlite_api, hs256(sqlite_api, claims)), 401)
    assert body["detail"]


def test_a_token_signed_with_another_secret_is_401(sqlite_api: Api) -> None:
    token = hs256(sqlite_api, officer_claims(), secret="not-the-ledger's-secret-" + "x" * 32)
    assert "signature" in problem(called_with(sqlite_api, token), 401)["detail"]


def test_an_unsigned_token_with_alg_none_is_401(sqlite_api: Api) -> None:
    problem(called_with(sqlite_api, unsigned(officer_claims())), 401)


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "", "e30.e30.e30"])
def test_garbage_in_place_of_a_token_is_401(sqlite_api: Api, garbage: str) -> None:
    response = sqlite_api.client.get(PROTECTED, headers={"Authorization": f"Bearer {garbage}"})
    problem(response, 401)


def test_no_token_or_another_scheme_is_401_asking_for_a_bearer_token(sqlite_api: Api) -> None:
    response = sqlite_api.client.get(PROTECTED)
    problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    problem(sqlite_api.client.get(PROTECTED, headers={"Authorization": "Basic b2xnYTpzZWNyZXQ="}), 401)


# RS256 through an identity provider's key pair
@pytest.fixture
def rs256_api(tmp_path: Path, clock: MovableClock) -> Iterator[tuple[Api, rsa.RSAPrivateKey]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", auth_public_key=public_pem
    )
    for api in open_api(settings, clock):
        yield api, private


def test_with_a_configured_public_key_rs256_tokens_from_the_identity_provider_work(
    rs256_api: tuple[Api, rsa.RSAPrivateKey],
) -> None:
    api, private = rs256_api
    token = jwt.encode(officer_claims(), private, algorithm="RS256")
    assert called_with(api, token).status_code == 200


def test_with_rs256_configured_an_hs256_token_is_401_even_with_the_local_secret(
    rs256_api: tuple[Api, rsa.RSAPrivateKey],
) -> None:
    api, _ = rs256_api
    problem(called_with(api, hs256(api, officer_claims())), 401)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    problem(called_with(api, jwt.encode(officer_claims(), other, algorithm="RS256")), 401)


# The command line
def test_ledger_token_prints_a_token_the_api_accepts(
    sqlite_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(sqlite_api.settings.data_dir))
    get_settings.cache_clear()
    try:
        tenant = sqlite_api.user("officer", "olga").post("/v1/tenants", json={"name": "A"}).json()
        printed = CliRunner().invoke(
            cli, ["token", "--role", "customer", "--actor", "alice", "--tenant", tenant["id"], "--ttl", "60"]
        )
        refused = CliRunner().invoke(cli, ["token", "--role", "customer", "--actor", "alice"])
    finally:
        get_settings.cache_clear()

    assert printed.exit_code == 0, printed.output
    token = printed.output.strip()
    response = sqlite_api.client.get(
        f"/v1/tenants/{tenant['id']}", params={"min_position": tenant["position"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and response.json()["name"] == "A"
    assert refused.exit_code != 0 and "tenant" in refused.output


def test_ledger_token_role_witness_reads_the_log_checkpoint_and_nothing_else(
    sqlite_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(sqlite_api.settings.data_dir))
    get_settings.cache_clear()
    try:
        printed = CliRunner().invoke(cli, ["token", "--role", "witness", "--actor", "monitor-1"])
    finally:
        get_settings.cache_clear()

    assert printed.exit_code == 0, printed.output
    headers = {"Authorization": f"Bearer {printed.output.strip()}"}
    sqlite_api.ledger.open_tenant("A", "olga")
    sqlite_api.app.state.sealer.seal_pending()
    assert sqlite_api.client.get("/v1/log/checkpoint", headers=headers).status_code == 200
    problem(sqlite_api.client.get("/v1/tenants", headers=headers), 403)
