"""Tenants: opened, moved within the EU, terminated, reactivated within 60 days."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Body, Moment, Position, body_config, examples, in_words
from domain.vocabulary import TenantStatus

TENANT_ID = "3f2b8c1e-6a1d-4c1a-9f7e-2d6b1c0a9e55"


class TenantCreate(Body):
    model_config = body_config({"name": "Acme B.V.", "location": "NL"})

    name: str = Field(min_length=1, max_length=200, description="the company's name")
    location: str | None = Field(
        None, min_length=2, max_length=2,
        description="EU member state (ISO 3166 alpha-2); NL by default, IE on failover",
    )


class TenantCreated(BaseModel):
    model_config = examples(
        {"id": TENANT_ID, "status": "active", "location": "NL", "position": 1}
    )

    id: UUID
    status: Literal[TenantStatus.ACTIVE.value]  # a new tenant is always active
    location: str
    position: Position


class LocationEntry(BaseModel):
    location: str
    since: Moment
    reason: str | None = None


class TenantSummary(BaseModel):
    model_config = examples(
        {"id": TENANT_ID, "name": "Acme B.V.", "status": "active", "location": "NL",
         "purge_after": None, "created_at": "2026-01-05T09:00:00Z"}
    )

    id: UUID
    name: str = Field(description='"***" for auditors; "[erased]" once purged')
    status: str
    location: str
    purge_after: Moment | None = None
    created_at: Moment | None = None
    purge_final_at: Moment | None = Field(
        None, description="once purged: since when no copy of the store (backup, replica) can "
        "read the tenant's or its subjects' personal data (docs/erasure.md)",
    )


class TenantOut(BaseModel):
    model_config = examples(
        {
            "id": TENANT_ID, "name": "Acme B.V.", "status": "terminated", "location": "NL",
            "locations": [{"location": "NL", "since": "2026-01-05T09:00:00Z", "reason": None}],
            "purge_after": "2026-03-06T09:00:00Z", "created_at": "2026-01-05T09:00:00Z",
        }
    )

    id: UUID
    name: str
    status: str = Field(description=in_words(TenantStatus))
    location: str
    locations: list[LocationEntry] = Field(description="where its data has lived, oldest first")
    purge_after: Moment | None = Field(
        None, description="a terminated tenant may come back until then; purged after"
    )
    created_at: Moment | None = None
    purge_final_at: Moment | None = Field(
        None, description="once purged: since when no copy of the store (backup, replica) can "
        "read the tenant's or its subjects' personal data (docs/erasure.md)",
    )


class LocationMove(Body):
    model_config = body_config(
        {"location": "IE", "reason": "failover: the NL region is down"},
        {"location": "DE", "reason": "customer contract requires Germany"},
    )

    location: str = Field(min_length=2, max_length=2, description="EU member state code")
    reason: str | None = Field(
        None, max_length=1000, description="required for anywhere but NL and IE"
    )


class TenantChanged(BaseModel):
    model_config = examples(
        {"id": TENANT_ID, "status": "terminated", "location": "NL",
         "purge_after": "2026-03-06T09:00:00Z", "position": 7}
    )

    id: UUID
    status: str
    location: str
    purge_after: Moment | None = None
    position: Position
