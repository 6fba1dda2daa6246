"""Subjects' requests (GDPR art. 15-21): received, verified, maybe extended or quoted, closed."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.base import Body, Moment, Position, body_config, examples, in_words
from api.schemas.propagation import SystemPropagation, WaitingFor
from api.schemas.subjects import SUBJECT_ID
from api.schemas.tenants import TENANT_ID
from domain.vocabulary import DataRequestKind, DataRequestStatus, RequestChannel

REQUEST_ID = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"


class DataRequestCreate(Body):
    model_config = body_config({"kind": "access", "channel": "email"})

    kind: DataRequestKind
    channel: RequestChannel = Field(description="how the request reached the vendor")
    details: str | None = Field(None, max_length=4000, description="what the person asked")
    received_at: AwareDatetime | None = Field(
        None, description="when the request reached the vendor, if before now (a letter "
        "entered the next day): the deadline counts from it; not in the future, at most a "
        "year ago. Who entered it, and when, is recorded too",
    )


class Quote(BaseModel):
    amount_cents: int
    currency: str


class DataRequestOut(BaseModel):
    model_config = examples(
        {
            "id": REQUEST_ID, "subject_id": SUBJECT_ID, "tenant_id": TENANT_ID,
            "kind": "access", "channel": "email", "status": "received",
            "received_at": "2026-01-05T09:00:00Z", "due_at": "2026-02-05T09:00:00Z",
            "overdue": False, "identity_verified": False, "extended_months": 0,
            "quote": None, "delivery_sha256": None, "delivery_format": None,
        }
    )

    id: UUID
    subject_id: UUID
    tenant_id: UUID | None = None
    kind: str
    channel: str | None = None
    status: str = Field(description=in_words(DataRequestStatus))
    received_at: Moment | None = None
    due_at: Moment
    entered_at: Moment | None = Field(None, description="when it was entered in the ledger")
    entered_by: str | None = Field(None, description="who entered it")
    overdue: bool = False
    identity_verified: bool = False
    extended_months: int = 0
    quote: Quote | None = None
    delivery_sha256: str | None = Field(
        None, description="SHA-256 (lowercase hex) of the export delivered, once fulfilled"
    )
    delivery_format: str | None = Field(None, description="xlsx, json or csv")
    erasure_final_at: Moment | None = Field(
        None, description="an erasure: since when no copy of the store (backup, replica) can "
        "read the person any more, because the last key that could unwrap their data key was "
        "destroyed (docs/erasure.md); null until then",
    )
    propagation: list[SystemPropagation] | None = Field(
        None, description="an erasure or rectification: each registered system it was "
        "propagated to when the identity was verified, and its answer; [] when none was "
        "concerned; null in lists",
    )
    waiting_for: list[WaitingFor] = Field(
        default_factory=list, description="the systems whose confirmation this open request "
        "still waits for before it can be fulfilled (it stays open, and becomes overdue on "
        "its own clock)",
    )


class DataRequestChanged(DataRequestOut):
    model_config = examples(
        {
            "id": REQUEST_ID, "subject_id": SUBJECT_ID, "tenant_id": TENANT_ID,
            "kind": "access", "channel": "email", "status": "verified",
            "received_at": "2026-01-05T09:00:00Z", "due_at": "2026-02-05T09:00:00Z",
            "overdue": False, "identity_verified": True, "extended_months": 0,
            "quote": None, "delivery_sha256": None, "delivery_format": None, "position": 31,
        }
    )

    position: Position


class IdentityVerification(Body):
    model_config = body_config({"method": "passport checked at the desk"})

    method: str = Field(min_length=1, max_length=200, description="how the identity was checked")


class Extension(Body):
    model_config = body_config({"months": 1, "reason": "the request covers ten years of records"})

    months: int = Field(ge=1, le=2, description="one or two more months (two in all)")
    reason: str = Field(min_length=1, max_length=2000)


class QuoteCreate(Body):
    model_config = body_config({"amount_cents": 2500, "currency": "EUR"})

    amount_cents: int = Field(ge=1, le=10**9)
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, e.g. EUR")


ExportFormat = Literal["xlsx", "json", "csv"]


class Fulfilment(Body):
    model_config = body_config(
        {"format": "xlsx"},
        {},
        {"delivery_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
         "delivery_format": "paper"},
    )

    format: ExportFormat | None = Field(
        None,
        description="access and portability: the ledger builds the subject's export in this "
        "format (xlsx when nothing is given), records its SHA-256 and keeps a sealed copy to "
        "download from `delivery.url`",
    )
    delivery_sha256: str | None = Field(
        None, pattern="^[0-9a-f]{64}$",
        description="instead of `format`: the SHA-256 (lowercase hex) of something delivered "
        "outside the ledger",
    )
    delivery_format: str | None = Field(None, max_length=20, description="with `delivery_sha256`")


class DeliveryOut(BaseModel):
    model_config = examples(
        {"format": "xlsx", "filename": f"subject-{SUBJECT_ID}-20260105T090000Z.xlsx",
         "media_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "size": 18734,
         "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
         "url": f"/v1/requests/{REQUEST_ID}/delivery", "kept_until": "2026-02-04T09:00:00Z"}
    )

    format: str
    filename: str
    media_type: str
    size: int = Field(description="bytes")
    sha256: str = Field(description="equals the request's recorded `delivery_sha256`")
    url: str | None = Field(
        description="GET it (officer) for exactly these bytes; null when no copy could be "
        "kept (the subject has no data key left)"
    )
    kept_until: Moment | None = Field(
        description="the sealed copy is deleted then, or at once when the subject is erased"
    )


class DataRequestFulfilled(DataRequestChanged):
    model_config = examples(
        {
            "id": REQUEST_ID, "subject_id": SUBJECT_ID, "tenant_id": TENANT_ID,
            "kind": "access", "channel": "email", "status": "fulfilled",
            "received_at": "2026-01-05T09:00:00Z", "due_at": "2026-02-05T09:00:00Z",
            "overdue": False, "identity_verified": True, "extended_months": 0, "quote": None,
            "delivery_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "delivery_format": "xlsx", "position": 33,
            "delivery": {
                "format": "xlsx", "filename": f"subject-{SUBJECT_ID}-20260105T090000Z.xlsx",
                "media_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "size": 18734,
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "url": f"/v1/requests/{REQUEST_ID}/delivery",
                "kept_until": "2026-02-04T09:00:00Z",
            },
        }
    )

    delivery: DeliveryOut | None = Field(
        None, description="the export the ledger built and delivered (access and portability)"
    )


class Rejection(Body):
    model_config = body_config({"reason": "the requester could not prove who they are"})

    reason: str = Field(min_length=1, max_length=2000)
