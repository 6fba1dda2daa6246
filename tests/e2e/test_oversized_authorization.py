"""An `Authorization` header over 8 KiB is a 401 before anything decodes it: no token is that
long, and decoding (base64, JSON, a signature) is work the caller should not buy for free."""

from __future__ import annotations

from typing import Any

import pytest

from api.http import auth
from tests.e2e.conftest import Api, problem

OVER = "Bearer " + "a" * (8 * 1024)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = auth.jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return seen


def test_an_authorization_header_over_8_kib_is_401_without_decoding(
    sqlite_api: Api, decodes: list[str]
) -> None:
    response = sqlite_api.anonymous().get("/v1/tenants", headers={"Authorization": OVER})

    body = problem(response, 401)
    assert "longer than 8192 bytes" in body["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert decodes == []


def test_the_idempotent_write_path_refuses_it_without_decoding_too(
    sqlite_api: Api, decodes: list[str]
) -> None:
    events = sqlite_api.events()
    response = sqlite_api.anonymous().post(
        "/v1/tenants", json={"name": "Acme B.V."},
        headers={"Authorization": OVER, "Idempotency-Key": "k-1"},
    )
    problem(response, 401)
    assert decodes == [] and sqlite_api.events() == events


def test_a_bad_token_under_the_limit_is_still_decoded_and_refused(
    sqlite_api: Api, decodes: list[str]
) -> None:
    short = "Bearer " + "a" * 100
    problem(sqlite_api.anonymous().get("/v1/tenants", headers={"Authorization": short}), 401)
    assert decodes == ["a" * 100]
