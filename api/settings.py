"""All configuration in one place: `LEDGER_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
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
    auth_secret: SecretStr | None = Field(None, description="HS256 secret for bearer tokens")
    auth_public_key: str | None = Field(
        None, description="PEM public key: when set, tokens are RS256 from an identity provider"
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


@lru_cache
def get_settings() -> Settings:
    return Settings()
