"""Security incidents: affected customers told without undue delay, the authority within 72 hours."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.base import Body, Moment, Position, body_config, examples, one_of
from api.schemas.tenants import TENANT_ID
from domain.vocabulary import IncidentSeverity, Recipient

INCIDENT_ID = "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b"
OVERDUE = "the authority was not told within the 72 hours: not yet and past them, or told late"


class CustomerNotice(BaseModel):
    tenant_id: UUID
    at: Moment
    by: str = Field(description="the officer who recorded it, or ledger-outbox when mailed")
    message_id: str | None = Field(None, description="the Message-ID of the mailed notice")


class IncidentCreate(Body):
    model_config = body_config(
        {"title": "Backup bucket was public", "description": "From 02:00 to 03:10 UTC.",
         "severity": "high", "tenant_ids": [TENANT_ID], "aware_at": "2026-01-05T08:30:00Z"}
    )

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10000)
    severity: one_of(IncidentSeverity)
    tenant_ids: list[UUID] = Field(max_length=10000, description="the affected tenants")
    aware_at: AwareDatetime | None = Field(
        None, description="when the vendor became aware (the 72 hours run from then); now if absent"
    )


class IncidentCreated(BaseModel):
    model_config = examples(
        {"id": INCIDENT_ID, "authority_due_at": "2026-01-08T08:30:00Z", "overdue": False,
         "position": 9}
    )

    id: UUID
    authority_due_at: Moment
    overdue: bool = Field(description=OVERDUE)
    position: Position


class NotificationCreate(Body):
    model_config = body_config(
        {"recipient": "customer", "tenant_id": TENANT_ID},
        {"recipient": "authority", "reference": "AP-2026-00042"},
    )

    recipient: one_of(Recipient)
    tenant_id: UUID | None = Field(None, description="which customer (recipient customer)")
    reference: str | None = Field(
        None, max_length=200, description="the authority's reference (recipient authority)"
    )


class NotificationRecorded(BaseModel):
    model_config = examples(
        {"incident_id": INCIDENT_ID, "recipient": "customer", "tenant_id": TENANT_ID,
         "overdue": False, "position": 10}
    )

    incident_id: UUID
    recipient: str
    tenant_id: UUID | None = None
    overdue: bool = Field(description=OVERDUE)
    position: Position


class IncidentOut(BaseModel):
    model_config = examples(
        {
            "id": INCIDENT_ID, "title": "Backup bucket was public",
            "description": "From 02:00 to 03:10 UTC.", "severity": "high",
            "aware_at": "2026-01-05T08:30:00Z", "authority_due_at": "2026-01-08T08:30:00Z",
            "authority_notified_at": None, "overdue": False, "tenant_ids": [TENANT_ID],
            "customers_notified": {TENANT_ID: "2026-01-05T09:00:00Z"},
            "customer_notices": [{
                "tenant_id": TENANT_ID, "at": "2026-01-05T09:00:00Z", "by": "ledger-outbox",
                "message_id": "<176484540012.4242.1234567890@example.org>",
            }],
        }
    )

    id: UUID
    title: str
    description: str | None = None
    severity: str
    aware_at: Moment
    authority_due_at: Moment
    authority_notified_at: Moment | None = None
    overdue: bool = False
    tenant_ids: list[UUID]
    customers_notified: dict[str, Moment] = Field(
        default_factory=dict, description="tenant id → when it was told"
    )
    customer_notices: list[CustomerNotice] = Field(
        default_factory=list, description="each customer's notification: when, by whom, and "
        "the Message-ID when the ledger mailed it (docs/notifications.md)",
    )


