"""The settings of notifications and propagation (docs/notifications.md): part of the one
`Settings` class (api/settings.py), kept in their own module for size."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

Words = Annotated[list[str], NoDecode]
Seconds = Annotated[list[float], NoDecode]
MAIL_SCHEMES = ("smtp", "smtps", "smtp+starttls")


class NotificationSettings(BaseModel):
    smtp_url: SecretStr | None = Field(
        None, description="smtp://[user:password@]host[:port] (plain), smtp+starttls://... "
        "(STARTTLS, port 587) or smtps://... (TLS, port 465); unset: no e-mail is sent",
    )
    mail_from: str = Field("ledger@example.org", description="the From of the ledger's mail")
    officer_emails: Words = Field(
        [], description="where officers' mail goes (deadlines), comma-separated"
    )
    staff_emails: dict[str, str] = Field(
        {}, description='JSON: staff actor -> e-mail, for staff whose tokens carry no `email`',
    )
    webhook_allowed_hosts: Words = Field(
        [], description="hosts (or host:port) that may be webhook targets over plain http and "
        "at private or loopback addresses; everything else must be https to a public address",
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="per attempt")
    webhook_retry_seconds: Seconds = Field(
        [], description="the waits between attempts, comma-separated seconds; unset: 5 s, "
        "5 min, 30 min, 2 h, 5 h, then 10 h six times (about three days)",
    )
    outbox_interval_seconds: float = Field(
        1.0, gt=0, description="how often the outbox looks for deliveries that are due"
    )
    outbox_concurrency: int = Field(
        8, ge=1, le=64, description="deliveries sent at once (a slow receiver holds one)"
    )

    @field_validator("officer_emails", "webhook_allowed_hosts", "webhook_retry_seconds",
                     mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        if isinstance(value, str):
            return [word for word in value.replace(",", " ").split() if word]
        return value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _positive(cls, waits: list[float]) -> list[float]:
        if any(wait <= 0 for wait in waits):
            raise ValueError("every wait must be more than 0 seconds")
        return waits

    @field_validator("smtp_url")
    @classmethod
    def _mail_url(cls, url: SecretStr | None) -> SecretStr | None:
        if url is not None:
            parts = urlsplit(url.get_secret_value())
            if parts.scheme not in MAIL_SCHEMES or not parts.hostname:
                raise ValueError(
                    "LEDGER_SMTP_URL must be smtp://, smtp+starttls:// or smtps:// with a host"
                )
        return url
