"""Disclosures of a tenant's data to third parties: customer's request, legal obligation, court order."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Body, Moment, body_config, examples
from api.schemas.tenants import TENANT_ID
from domain.vocabulary import LegalBasis

DISCLOSURE_ID = "4b5c6d7e-8f9a-4b0c-9d1e-2f3a4b5c6d7e"


class DisclosureCreate(Body):
    model_config = body_config(
        {"recipient": "Belastingdienst", "legal_basis": "legal_obligation",
         "reference": "letter 2026-0117"}
    )

    recipient: str = Field(min_length=1, max_length=300)
    legal_basis: LegalBasis
    reference: str = Field(min_length=1, max_length=300)
    subject_ids: list[UUID] | None = Field(
        None, max_length=10000, description="the subjects whose data went out, if known"
    )


class DisclosureOut(BaseModel):
    model_config = examples(
        {"id": DISCLOSURE_ID, "tenant_id": TENANT_ID, "recipient": "Belastingdienst",
         "legal_basis": "legal_obligation", "reference": "letter 2026-0117",
         "at": "2026-01-05T09:00:00Z", "actor": "olga"}
    )

    id: UUID
    tenant_id: UUID
    recipient: str
    legal_basis: str
    reference: str
    at: Moment
    actor: str | None = None
