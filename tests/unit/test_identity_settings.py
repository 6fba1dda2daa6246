"""Identity settings that would let the wrong token in are refused before the ledger starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.settings import Settings

ISSUER = "https://id.example.com/realms/ledger"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"auth_secret": "x" * 31}, "LEDGER_AUTH_SECRET must be at least 32 bytes"),
        ({"oidc_issuer": ISSUER}, "LEDGER_OIDC_AUDIENCE must be set with LEDGER_OIDC_ISSUER"),
        ({"oidc_issuer": ISSUER, "oidc_audience": "ledger-portal",
          "oidc_portal_client_id": "ledger-portal"}, "must not be the portal's client id"),
        ({"oidc_issuer": ISSUER, "oidc_audience": "api", "oidc_portal_client_id": "portal",
          "oidc_portal_issuer": "https://elsewhere.example"}, "must be one of LEDGER_OIDC_ISSUER"),
        ({"oidc_portal_client_id": "portal"}, "LEDGER_OIDC_PORTAL_CLIENT_ID needs LEDGER_OIDC_ISSUER"),
        ({"oidc_issuer": ISSUER, "oidc_audience": "api", "auth_public_key": "PEM"},
         "LEDGER_OIDC_ISSUER or LEDGER_AUTH_PUBLIC_KEY, not both"),
        ({"oidc_issuer": "id.example.com"}, "is not an issuer URL"),
        ({"oidc_issuer": ISSUER, "oidc_audience": "api", "oidc_role_map": {"Admins": "root"}},
         "oidc_role_map.Admins"),
    ],
    ids=["short secret", "issuer without audience", "audience is the portal client",
         "portal issuer not trusted", "portal client without issuer", "two ways to sign in",
         "issuer not a URL", "role map to no role"],
)
def test_settings_that_would_let_the_wrong_token_in_are_refused(
    values: dict[str, object], reason: str,
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(**values)

    assert reason in str(refused.value)


def test_several_issuers_come_comma_separated_from_the_environment_and_are_kept_literally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_OIDC_ISSUER", f"{ISSUER}, https://tenant.example.auth0.com/")
    monkeypatch.setenv("LEDGER_OIDC_AUDIENCE", "api")
    monkeypatch.setenv("LEDGER_OIDC_ROLE_MAP", '{"ledger-officer": "officer"}')

    loaded = settings()

    assert loaded.oidc_issuer == [ISSUER, "https://tenant.example.auth0.com/"]
    assert loaded.oidc_role_map == {"ledger-officer": "officer"}
    assert loaded.portal_issuer is None  # no portal client: customers paste tokens


def test_the_default_stays_the_ledgers_own_tokens_with_a_generated_secret() -> None:
    default = settings()

    assert not default.uses_identity_provider and default.auth_secret is None
