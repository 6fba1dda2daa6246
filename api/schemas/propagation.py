"""Propagation to the vendor's systems that hold personal data: a registered system, a
propagation as the system that must confirm it sees it, and where a subject's request stands
with each system it told (domain/propagation.py)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Body, Moment, Position, body_config, examples, in_words, one_of
from api.schemas.subjects import SUBJECT_ID
from domain.propagation import PropagationStatus
from domain.vocabulary import Purpose

SYSTEM_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
REQUEST_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"
PROPAGATION_ID = "msg_2kq4v6x8z0b2d4f6h8j0l2n4p6r8t0v2"
PropagatedKind = Literal["erasure", "rectification"]
SYSTEM = {
    "name": "CRM", "url": "https://crm.example.org/hooks/ledger", "actor": "crm",
    "purposes": ["info_mail", "product_mail"], "kinds": ["erasure", "rectification"],
}


class SystemCreate(Body):
    model_config = body_config(SYSTEM)

    name: str = Field(min_length=1, max_length=200, description="what the officers call it")
    url: str = Field(
        min_length=1, max_length=2000,
        description="its webhook: https, or a host allowed by LEDGER_WEBHOOK_ALLOWED_HOSTS",
    )
    actor: str = Field(
        min_length=1, max_length=200,
        description="the `sub` of the system token with which it confirms (one system each)",
    )
    purposes: list[one_of(Purpose)] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(Purpose),
        description="consent changes for these purposes are delivered to it",
    )
    kinds: list[PropagatedKind] = Field(
        default_factory=list, max_length=2,
        description="erasure and rectification requests of these kinds are delivered to it",
    )


class SystemOut(BaseModel):
    model_config = examples({
        "id": SYSTEM_ID, **SYSTEM, "status": "active",
        "subscription_id": "0b8f7f43-3c52-4d4e-9a52-0b6c0e0f0a11",
        "created_at": "2026-01-05T09:00:00Z", "created_by": "olga", "retired_at": None,
    })

    id: UUID
    name: str
    url: str
    actor: str
    purposes: list[str]
    kinds: list[str]
    status: Literal["active", "retired"]
    subscription_id: UUID | None = Field(description="the webhook subscription it hears through")
    created_at: Moment
    created_by: str
    retired_at: Moment | None = None


class SystemRegistered(SystemOut):
    model_config = examples({
        "id": SYSTEM_ID, **SYSTEM, "status": "active",
        "subscription_id": "0b8f7f43-3c52-4d4e-9a52-0b6c0e0f0a11",
        "created_at": "2026-01-05T09:00:00Z", "created_by": "olga", "retired_at": None,
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    })

    secret: str = Field(
        description="the webhook signing secret (Standard Webhooks), shown this once"
    )


class PropagationOut(BaseModel):
    """One propagation: a delivery to one system of a consent change, an erasure or a
    rectification, and whether the system has confirmed it."""

    model_config = examples({
        "id": PROPAGATION_ID, "type": "erasure.requested", "system_id": SYSTEM_ID,
        "system_name": "CRM", "subject_id": SUBJECT_ID, "request_id": REQUEST_ID,
        "status": "confirmed", "at": "2026-01-06T10:00:00Z", "reason": None,
        "delivery_status": "delivered",
    })

    id: str = Field(description="the webhook-id of the delivery that carried it")
    type: str = Field(description="consent.changed, erasure.requested or rectification.requested")
    system_id: UUID
    system_name: str
    subject_id: UUID | None = None
    request_id: UUID | None = Field(None, description="the subject's request, if it is one")
    status: str = Field(description=in_words(PropagationStatus))
    at: Moment | None = Field(None, description="since when (for a request's propagation)")
    reason: str | None = Field(None, description="why it failed or was waived")
    delivery_status: str = Field(description="the webhook delivery's own state")


class PropagationChanged(PropagationOut):
    model_config = examples({
        "id": PROPAGATION_ID, "type": "erasure.requested", "system_id": SYSTEM_ID,
        "system_name": "CRM", "subject_id": SUBJECT_ID, "request_id": REQUEST_ID,
        "status": "confirmed", "at": "2026-01-06T10:00:00Z", "reason": None,
        "delivery_status": "delivered", "position": 57,
    })

    position: Position


class FailureReport(Body):
    model_config = body_config({"reason": "the mailbox is locked by a legal hold"})

    reason: str = Field(min_length=1, max_length=2000, description="why it could not be applied")


class Waiver(Body):
    model_config = body_config({"reason": "the CRM was decommissioned; its data is gone"})

    reason: str = Field(
        min_length=1, max_length=2000,
        description="why the request may be fulfilled without the missing confirmations",
    )


class SystemPropagation(BaseModel):
    """Where a request's propagation stands with one system."""

    system_id: UUID
    name: str
    status: one_of(PropagationStatus)  # type: ignore[valid-type]
    at: Moment = Field(description="since when it is so")
    reason: str | None = Field(None, description="a failure's or a waiver's reason")


class WaitingFor(BaseModel):
    """A system whose confirmation an open request still waits for."""

    system_id: UUID
    name: str
    status: Literal["pending", "failed"]
