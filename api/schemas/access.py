"""Support staff's access to a tenant's data: requested, decided by the customer, used, logged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Body, Moment, Position, body_config, examples
from api.schemas.tenants import TENANT_ID
from domain.vocabulary import Scope

ACCESS_REQUEST_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
Resource = str


class AccessRequestCreate(Body):
    model_config = body_config(
        {"scope": "read", "resources": ["orders"], "reason": "customer reports a wrong invoice",
         "ticket": "SUP-1234", "duration_minutes": 60}
    )

    scope: Scope = Field(description="read, export or modify")
    resources: list[Resource] = Field(
        min_length=1, max_length=100,
        description='what to look at; "orders" also covers "orders/17"',
    )
    reason: str = Field(min_length=1, max_length=2000)
    ticket: str | None = Field(None, max_length=200)
    duration_minutes: int | None = Field(
        None, ge=1, description="how long the grant should last (default 240, at most 480)"
    )


class AccessRequestCreated(BaseModel):
    model_config = examples(
        {"id": ACCESS_REQUEST_ID, "status": "pending", "expires_at": "2026-01-05T21:00:00Z",
         "position": 5}
    )

    id: UUID
    status: str
    expires_at: Moment = Field(description="a pending request nobody decides on expires then")
    position: Position


class Approval(Body):
    model_config = body_config({}, {"duration_minutes": 30, "resources": ["orders/17"]})

    duration_minutes: int | None = Field(None, ge=1, description="may only shorten")
    scope: Scope | None = Field(None, description="may only narrow (to read)")
    resources: list[Resource] | None = Field(
        None, min_length=1, max_length=100, description="may only narrow"
    )


class Approved(BaseModel):
    model_config = examples(
        {"id": ACCESS_REQUEST_ID, "status": "approved", "scope": "read",
         "resources": ["orders/17"], "valid_until": "2026-01-05T09:30:00Z", "position": 6}
    )

    id: UUID
    status: str
    scope: str
    resources: list[str]
    valid_until: Moment
    position: Position


class ReasonBody(Body):
    model_config = body_config({"reason": "the ticket is already solved"})

    reason: str = Field(min_length=1, max_length=2000)


class Decided(BaseModel):
    model_config = examples({"id": ACCESS_REQUEST_ID, "status": "denied", "position": 6})

    id: UUID
    status: str
    position: Position


class AccessUse(Body):
    model_config = body_config({"resource": "orders/17", "action": "read"})

    resource: str = Field(min_length=1, max_length=500)
    action: Scope


class AccessRecorded(BaseModel):
    model_config = examples(
        {"request_id": ACCESS_REQUEST_ID, "outcome": "allowed", "resource": "orders/17",
         "action": "read", "position": 7}
    )

    request_id: UUID
    outcome: str
    resource: str
    action: str
    position: Position


class HistoryEntry(BaseModel):
    at: Moment
    event: str
    actor: str | None = None
    detail: Any = None


class AccessRequestOut(BaseModel):
    model_config = examples(
        {
            "id": ACCESS_REQUEST_ID, "tenant_id": TENANT_ID, "requester": "sam",
            "scope": "read", "resources": ["orders"], "reason": "wrong invoice",
            "ticket": "SUP-1234", "duration_minutes": 60, "status": "approved",
            "requested_at": "2026-01-05T09:00:00Z", "expires_at": "2026-01-05T21:00:00Z",
            "approver": "alice", "granted_scope": "read", "granted_resources": ["orders/17"],
            "valid_until": "2026-01-05T10:00:00Z", "decided_at": "2026-01-05T09:05:00Z",
            "decided_by": "alice",
            "history": [{"at": "2026-01-05T09:00:00Z", "event": "requested", "actor": "sam",
                         "detail": None}],
        }
    )

    id: UUID
    tenant_id: UUID
    requester: str
    scope: str
    resources: list[str]
    reason: str | None = Field(None, description='"***" for auditors')
    ticket: str | None = None
    duration_minutes: int | None = None
    status: str
    requested_at: Moment | None = None
    expires_at: Moment | None = None
    approver: str | None = None
    granted_scope: str | None = None
    granted_resources: list[str] | None = None
    valid_until: Moment | None = None
    decided_at: Moment | None = None
    decided_by: str | None = Field(
        None, description="who approved, denied or revoked it last (for an end with the "
        "tenant's termination: who terminated it)"
    )
    history: list[HistoryEntry] | None = None


class AccessLogEntry(BaseModel):
    model_config = examples(
        {"at": "2026-01-05T09:10:00Z", "actor": "sam", "action": "read",
         "resource": "orders/17", "request_id": ACCESS_REQUEST_ID, "outcome": "allowed", "detail": None}
    )

    at: Moment
    actor: str
    action: str | None = None
    resource: str | None = None
    request_id: UUID | None = None
    outcome: str = Field(description="allowed, refused, disclosed or purged")
    detail: str | None = Field(
        None,
        description="why it was refused, the legal basis and reference of a disclosure, or "
        "what a purge did",
    )
