"""The settings of running the ledger as several processes and watching it: read replicas,
metrics and logs (docs/deploy.md, docs/operations.md). Part of the one `Settings` class
(api/settings.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode


class OperationsSettings(BaseModel):
    read_database_url: Annotated[list[str], NoDecode] = Field(
        [], description="PostgreSQL streaming replicas (comma-separated): GETs answered from the "
        "read models and the Merkle tables go there; writes stay on LEDGER_DATABASE_URL",
    )
    read_only: bool = Field(
        False, description="serve reads only: open no connection for writing, create no table, "
        "answer writes with 503 (also `ledger serve --read-only`)",
    )
    read_fallback: Literal["primary", "unavailable"] = Field(
        "primary", description="when every replica is down or too far behind: `primary` reads "
        "from LEDGER_DATABASE_URL, `unavailable` answers 503 with Retry-After",
    )
    read_max_lag_seconds: float = Field(
        10.0, gt=0, description="a replica further behind its primary's WAL than this is not read",
    )
    metrics_token: SecretStr | None = Field(
        None, description="bearer token for GET /metrics on the API's port; unset: /metrics is "
        "not served there",
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="serve /metrics, without a token, on this port of "
        "LEDGER_METRICS_HOST (also from `ledger worker`)",
    )
    metrics_host: str = Field("127.0.0.1", description="the interface of LEDGER_METRICS_PORT")
    log_format: Literal["json", "text"] = Field(
        "json", description="`json`: one JSON object per line, with the request id; `text`: "
        "for reading by eye",
    )

    @field_validator("read_database_url", mode="before")
    @classmethod
    def _urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url for url in value.replace(",", " ").split() if url]
        return value

    @field_validator("read_database_url")
    @classmethod
    def _postgres_only(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("postgresql://", "postgres://")):
                raise ValueError(
                    "read replicas are PostgreSQL streaming replicas: each URL starts with "
                    "postgresql:// (SQLite has no replicas)"
                )
        return urls
