"""All configuration in one place: `LEDGER_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated
from uuid import UUID

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.vocabulary import Role
from api.notification_settings import NotificationSettings
from api.operations_settings import OperationsSettings
from api.privacy_settings import PrivacySettings
from api.transparency_settings import TransparencySettings

# HS256 is as strong as its secret: RFC 7518 §3.2 asks for a key at least as long as the hash.
SHORTEST_AUTH_SECRET_BYTES = 32
# Comma- or space-separated in the environment: LEDGER_OIDC_ISSUER="https://a,https://b".
WordList = Annotated[list[str], NoDecode]


class Settings(
    BaseSettings, NotificationSettings, TransparencySettings, OperationsSettings, PrivacySettings
):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///./var/ledger.sqlite",
        description="sqlite:///PATH, postgresql://USER@HOST:PORT/DB, or memory:// for tests",
    )
    data_dir: Path = Field(Path("./var"), description="where generated keys and SQLite live")
    master_key: SecretStr | None = Field(
        None, description="base64 of 32 bytes: the one key of a store made before key epochs; "
        "read once to move its data keys to epochs (docs/erasure.md)",
    )
    key_dir: Path | None = Field(
        None, description="where the key-encryption keys live, one file per epoch; default "
        "<data_dir>/keys. Keep it out of the database's backups",
    )
    key_epoch_hours: float = Field(
        24.0, gt=0, description="how long each key-encryption key wraps the data keys"
    )
    key_epochs_kept: int = Field(
        7, ge=1, description="a KEK is destroyed once this many newer epochs exist: how old a "
        "backup can be and still be read; erasures become final after about this many epochs",
    )
    auth_secret: SecretStr | None = Field(
        None, description="HS256 secret for the ledger's own bearer tokens (32 bytes or more); "
        "unset: generated into <data_dir>/auth.secret",
    )
    auth_public_key: str | None = Field(
        None, description="PEM public key: when set, tokens are RS256 from an identity provider"
    )
    max_token_ttl: int = Field(
        86400, gt=0, description="seconds: a provider's token that lives longer (exp - iat, or "
        "exp - now without iat) is refused",
    )
    # OpenID Connect (docs/identity.md): with an issuer set, bearer tokens come from it.
    oidc_issuer: WordList = Field(
        [], description="issuer URLs whose tokens are accepted (comma-separated); unset: the "
        "ledger's own HS256 tokens",
    )
    oidc_audience: str | None = Field(
        None, description="what a provider's token must name in `aud` to be accepted here"
    )
    oidc_role_claim: str = Field(
        "roles", description="dotted path of the claim holding the role: roles, groups, "
        "realm_access.roles",
    )
    oidc_role_map: dict[str, Role] = Field(
        {}, description='JSON: provider value -> role, e.g. {"Ledger.Staff": "staff"}; '
        "empty: the values must be the role names themselves",
    )
    oidc_tenant_claim: str = Field(
        "tenant", description="dotted path of the claim naming a customer's tenant or organisation"
    )
    oidc_tenant_map: dict[str, UUID] = Field(
        {}, description="JSON: the provider's organisation id -> tenant id; empty: the claim "
        "holds the tenant id",
    )
    oidc_actor_claim: str = Field("sub", description="the claim that names the caller")
    oidc_scopes: WordList = Field(
        [], description="scopes the provider grants for the ledger (announced in "
        "/.well-known/oauth-protected-resource)",
    )
    oidc_keys_cache_seconds: float = Field(
        300, gt=0, description="a provider's signing keys are fetched again after this long: "
        "a removed key is refused at most this long after its removal",
    )
    oidc_keys_refetch_seconds: float = Field(
        30, ge=0, description="shortest time between two fetches of a provider's keys for a "
        "token signed with an unknown key",
    )
    oidc_portal_client_id: str | None = Field(
        None, description="the portal's client at the provider: set, customers sign in there"
    )
    oidc_portal_client_secret: SecretStr | None = Field(None)
    oidc_portal_issuer: str | None = Field(
        None, description="which of the issuers the portal signs in with; default the first"
    )
    oidc_portal_scopes: str = Field("openid profile email")
    oidc_session_check_seconds: float = Field(
        300, gt=0, description="a portal session asks the provider again (refresh) this often",
    )
    signing_key: SecretStr | None = Field(None, description="Ed25519 private key (PEM)")
    public_url: str = Field("http://127.0.0.1:8000", description="base of links the ledger mints")

    pending_request_hours: float = Field(12, gt=0, description="pending access requests expire")
    default_grant_minutes: int = Field(240, gt=0)
    maximum_grant_minutes: int = Field(480, gt=0)

    poll_interval_ms: int = Field(100, gt=0, description="SQLite projections poll this often")
    read_wait_seconds: float = Field(5.0, ge=0, description="longest wait for min_position")
    checkpoint_delay_seconds: float = Field(
        5.0, gt=0, description="longest time between an event's commit and its first checkpoint"
    )
    sweep_interval_seconds: float = Field(60.0, gt=0)
    run_workers: bool = Field(
        True,
        description="PostgreSQL: run projections, sealer and sweep in each API process "
        "(safe: advisory locks elect one); false when `ledger worker` processes do it",
    )
    group_commit: bool | None = Field(
        None, description="commit concurrent writes together; unset: on for SQLite and PostgreSQL"
    )
    controller_name: str = Field("Example Vendor B.V.", description="the controller on receipts")
    controller_contact: str = Field("privacy@example.org", description="where subjects write")
    jurisdiction: str = Field("NL", description="the controller's supervisory jurisdiction")
    privacy_notice_url: str | None = Field(
        None, description="the privacy notice; default: <public_url>/privacy"
    )
    log_level: str = Field("INFO")
    max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="larger request bodies are refused with 413"
    )
    max_json_depth: int = Field(
        64, gt=0, description="JSON bodies nested deeper than this are refused with 422"
    )
    max_header_bytes: int = Field(
        64 * 1024, gt=0,
        description="`ledger serve`: a request line and headers larger than this are refused (431)",
    )
    header_timeout_seconds: float = Field(
        10.0, gt=0,
        description="`ledger serve`: a connection that has not sent its headers by then is closed",
    )

    @field_validator("oidc_issuer", "oidc_scopes", mode="before")
    @classmethod
    def _words(cls, value: object) -> object:
        if isinstance(value, str):
            return [word for word in value.replace(",", " ").split() if word]
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuers_are_urls(cls, issuers: list[str]) -> list[str]:
        for issuer in issuers:
            if not issuer.startswith(("https://", "http://")):
                raise ValueError(f"{issuer!r} is not an issuer URL (https://...)")
        # Taken literally: `iss` must equal it byte for byte, trailing slash included (Auth0).
        return issuers

    @field_validator("auth_secret")
    @classmethod
    def _long_enough(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and len(secret.get_secret_value().encode()) < SHORTEST_AUTH_SECRET_BYTES:
            raise ValueError(
                f"LEDGER_AUTH_SECRET must be at least {SHORTEST_AUTH_SECRET_BYTES} bytes: a "
                "shorter HS256 secret can be guessed offline from one token"
            )
        return secret

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> "Settings":
        if not self.oidc_issuer:
            if self.oidc_portal_client_id:
                raise ValueError("LEDGER_OIDC_PORTAL_CLIENT_ID needs LEDGER_OIDC_ISSUER")
            return self
        if not self.oidc_audience:
            raise ValueError(
                "LEDGER_OIDC_AUDIENCE must be set with LEDGER_OIDC_ISSUER: without it a token the "
                "provider issued for any other application would be accepted"
            )
        if self.auth_public_key:
            raise ValueError("set LEDGER_OIDC_ISSUER or LEDGER_AUTH_PUBLIC_KEY, not both")
        if self.oidc_audience == self.oidc_portal_client_id:
            raise ValueError(
                "LEDGER_OIDC_AUDIENCE must not be the portal's client id: the portal's ID tokens "
                "would then be taken as API tokens"
            )
        if self.oidc_portal_issuer and self.oidc_portal_issuer not in self.oidc_issuer:
            raise ValueError("LEDGER_OIDC_PORTAL_ISSUER must be one of LEDGER_OIDC_ISSUER")
        return self

    @property
    def portal_issuer(self) -> str | None:
        """The provider customers sign into the portal with; None: they paste a token."""
        if not self.oidc_portal_client_id:
            return None
        return self.oidc_portal_issuer or self.oidc_issuer[0]

    @property
    def uses_identity_provider(self) -> bool:
        return bool(self.oidc_issuer)


@lru_cache
def get_settings() -> Settings:
    return Settings()
