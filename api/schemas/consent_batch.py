"""Bulk consent import (`POST /v1/consents:batch`): many decisions in, one answer per decision."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Body, body_config, examples
from api.schemas.subjects import SUBJECT_ID
from domain.vocabulary import Channel, ConsentMethod, ConsentStatus, Purpose

MAX_DECISIONS = 1000


class ConsentBatchDecision(Body):
    """One decision, as `PUT /v1/subjects/{id}/consents/{purpose}` takes it, naming both."""

    model_config = body_config(
        {"subject_id": SUBJECT_ID, "purpose": "info_mail", "status": "given",
         "channel": "email", "notice_version": "2026-01", "method": "import"}
    )

    subject_id: UUID
    purpose: Purpose
    status: ConsentStatus
    channel: Channel | None = None
    notice_version: str | None = Field(
        None, max_length=100, description="the privacy notice shown; required to give consent"
    )
    method: ConsentMethod = Field(description="how the person expressed it; never pre-ticked")


class ConsentBatch(Body):
    model_config = body_config(
        {"decisions": [
            {"subject_id": SUBJECT_ID, "purpose": "info_mail", "status": "given",
             "notice_version": "2026-01", "method": "import"},
            {"subject_id": SUBJECT_ID, "purpose": "profiling", "status": "withdrawn",
             "method": "import"},
        ]}
    )

    # Each decision is checked on its own, so that one bad decision is answered 422 by itself
    # instead of refusing the other 999: the items are objects here, ConsentBatchDecision there.
    decisions: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_DECISIONS,
        description=f"1 to {MAX_DECISIONS} decisions, each a ConsentBatchDecision: "
        "{subject_id, purpose, status, channel?, notice_version, method}; a subject's "
        "decisions are applied in the order given",
        json_schema_extra={"items": {"$ref": "#/components/schemas/ConsentBatchDecision"}},
    )


class ConsentBatchItem(BaseModel):
    index: int = Field(description="the decision's place in the request, from 0")
    status: int = Field(description="200 recorded, 404 no such subject, 409 the subject was "
                        "erased, 422 the decision is invalid")
    position: int | None = Field(None, description="the position of its event, when recorded")
    error: str | None = Field(None, description="why not, when not recorded")
    field: str | None = Field(None, description="the field at fault, for a 422")


class ConsentBatchAnswer(BaseModel):
    model_config = examples(
        {"items": [{"index": 0, "status": 200, "position": 41},
                   {"index": 1, "status": 404, "error": "no subject with id ..."}],
         "position": 41}
    )

    items: list[ConsentBatchItem]
    position: int | None = Field(
        None, description="the last position written by this batch (for min_position); null "
        "when no decision was recorded"
    )
