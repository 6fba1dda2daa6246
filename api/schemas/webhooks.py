"""Notifications: webhook subscriptions (a tenant's, the vendor's), what was delivered to them and
how each attempt went, the notice types one may subscribe to, and a tenant's mail contacts (its
approvers' addresses and the language of its mail)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from api.schemas.base import Body, Moment, body_config, examples
from api.schemas.tenants import TENANT_ID
from domain import values
from domain.errors import InvalidInput
from domain.notifications import CUSTOMER_NOTICES, VENDOR_NOTICES

WEBHOOK_ID = "5d6e7f80-9a1b-4c2d-8e3f-4a5b6c7d8e9f"
DELIVERY_ID = "msg_2kq7v3xg5n4s6d2m8r9t1w3y5b7c9f0h"
SUBSCRIBABLE = tuple(str(t) for t in (*CUSTOMER_NOTICES, *VENDOR_NOTICES))
NoticeName = Literal[SUBSCRIBABLE]  # type: ignore[valid-type]
MAX_URL_LENGTH = 2000
MAX_APPROVERS = 20
# The languages of the ledger's mail: projections/outbox/contacts.py LANGUAGES (schemas may not
# import the read side; a test keeps the two the same).
Language = Literal["en", "nl"]
SECRET_NOTE = (
    "the signing secret (Standard Webhooks `whsec_...`): shown in this answer only, never "
    "again; keep it where your receiver verifies `webhook-signature`"
)


def _known_types(value: Any) -> Any:
    # Checked before the items' own check, so an unknown type names `types`, not `types.0`.
    if isinstance(value, list):
        unknown = [t for t in value if isinstance(t, str) and t not in SUBSCRIBABLE]
        if unknown:
            raise PydanticCustomError(
                "value_error", "unknown notice type {kind!r}; GET /v1/notice-types lists them",
                {"kind": unknown[0]},
            )
        return list(dict.fromkeys(value))  # each once, in the order given
    return value


class WebhookCreate(Body):
    model_config = body_config(
        {"url": "https://hooks.example.org/ledger",
         "types": ["access.requested", "incident.reported"],
         "description": "our on-call channel"}
    )

    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH,
        description="https to a public address; plain http and private addresses only for "
        "hosts in LEDGER_WEBHOOK_ALLOWED_HOSTS",
    )
    types: list[NoticeName] = Field(
        min_length=1, max_length=len(SUBSCRIBABLE),
        description="what to hear; a customer chooses among the tenant's notices, an officer "
        "among the vendor's too (GET /v1/notice-types)",
    )
    description: str | None = Field(None, max_length=500)

    @field_validator("types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        return _known_types(value)


class WebhookChange(Body):
    model_config = body_config(
        {"status": "disabled"},
        {"types": ["access.requested"], "url": "https://hooks.example.org/v2"},
    )

    url: str | None = Field(None, min_length=1, max_length=MAX_URL_LENGTH)
    types: list[NoticeName] | None = Field(None, min_length=1, max_length=len(SUBSCRIBABLE))
    description: str | None = Field(None, max_length=500, description="null clears it")
    status: Literal["active", "disabled"] | None = Field(
        None, description="disabled: nothing is sent until it is active again"
    )

    @field_validator("types", mode="before")
    @classmethod
    def _types(cls, value: Any) -> Any:
        return _known_types(value)


class WebhookOut(BaseModel):
    model_config = examples(
        {"id": WEBHOOK_ID, "tenant_id": TENANT_ID, "url": "https://hooks.example.org/ledger",
         "types": ["access.requested", "incident.reported"], "description": "our on-call channel",
         "status": "active", "disabled_reason": None, "created_at": "2026-01-05T09:00:00Z",
         "created_by": "carla"}
    )

    id: UUID
    tenant_id: UUID | None = Field(description="null: the vendor's, hearing every tenant's")
    url: str
    types: list[str]
    description: str | None = None
    status: str = Field(description="active or disabled")
    disabled_reason: str | None = Field(
        None, description="why it is disabled: by whom, or the receiver answered 410 Gone"
    )
    created_at: Moment
    created_by: str


class WebhookCreated(WebhookOut):
    model_config = examples(
        {"id": WEBHOOK_ID, "tenant_id": TENANT_ID, "url": "https://hooks.example.org/ledger",
         "types": ["access.requested"], "description": None, "status": "active",
         "disabled_reason": None, "created_at": "2026-01-05T09:00:00Z", "created_by": "carla",
         "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    )

    secret: str = Field(description=SECRET_NOTE)


class SecretOut(BaseModel):
    model_config = examples({"id": WEBHOOK_ID, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})

    id: UUID
    secret: str = Field(description=SECRET_NOTE + "; the old one stops working at once")


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next: None = Field(None, description="always null: every subscription is on this page")


class AttemptOut(BaseModel):
    attempt: int
    at: Moment
    status: int | None = Field(description="the receiver's HTTP status; null: no answer")
    latency_ms: int
    error: str | None = None


class DeliveryOut(BaseModel):
    model_config = examples(
        {"id": DELIVERY_ID, "channel": "webhook", "subscription_id": WEBHOOK_ID,
         "recipient": None, "type": "access.requested", "tenant_id": TENANT_ID,
         "about_id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "status": "delivered",
         "attempt_count": 1, "next_attempt_at": None, "created_at": "2026-01-05T09:00:01Z",
         "last_attempt_at": "2026-01-05T09:00:01Z", "delivered_at": "2026-01-05T09:00:01Z",
         "last_status": 204, "last_error": None}
    )

    id: str = Field(description="the `webhook-id` the receiver saw; the same on every retry")
    channel: str = Field(description="webhook or email")
    subscription_id: UUID | None = None
    recipient: str | None = Field(None, description="an e-mail delivery's address")
    type: str
    tenant_id: UUID | None = None
    about_id: str | None = None
    status: str = Field(description="pending, delivered, failed (gave up) or disabled")
    attempt_count: int
    next_attempt_at: Moment | None = None
    created_at: Moment
    last_attempt_at: Moment | None = None
    delivered_at: Moment | None = None
    last_status: int | None = None
    last_error: str | None = None


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any] = Field(description="the JSON body the receiver gets")
    attempts: list[AttemptOut] = Field(description="every attempt, first first")


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next: None = Field(None, description="always null: the most recent, newest first")


class NoticeTypeOut(BaseModel):
    type: str
    description: str
    subscribers: list[str] = Field(
        description="who may subscribe a webhook to it: customer (its tenant's), officer "
        "(the vendor's, every tenant's), system (registered systems receive it)"
    )


class NoticeTypeList(BaseModel):
    model_config = examples({"items": [{
        "type": "access.requested", "description": "a staff member asked for access",
        "subscribers": ["customer", "officer"],
    }], "next": None})

    items: list[NoticeTypeOut]
    next: None = None


class ContactsIn(Body):
    model_config = body_config(
        {"approver_emails": ["it-admin@acme.example", "ciso@acme.example"], "language": "nl"}
    )

    approver_emails: list[str] = Field(
        min_length=1, max_length=MAX_APPROVERS,
        description="who is mailed a pending access request and an incident notice",
    )
    language: Language = Field(description="of the tenant's mail: en or nl")

    @field_validator("approver_emails")
    @classmethod
    def _addresses(cls, emails: list[str]) -> list[str]:
        checked = []
        for email in emails:
            try:
                checked.append(values.email(email))
            except InvalidInput:
                raise PydanticCustomError(
                    "value_error", "{email!r} is not an e-mail address like name@example.org",
                    {"email": email},
                ) from None
        return list(dict.fromkeys(checked))


class ContactsOut(BaseModel):
    model_config = examples(
        {"tenant_id": TENANT_ID, "approver_emails": ["it-admin@acme.example"], "language": "nl",
         "updated_at": "2026-01-05T09:00:00Z"}
    )

    tenant_id: UUID
    approver_emails: list[str] = Field(description="empty until the tenant's customer sets them")
    language: str
    updated_at: Moment | None = None
