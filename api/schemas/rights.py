"""Subjects' rights: consent receipts (ISO/IEC TS 27560) and one-click unsubscribe links."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.base import Moment, examples
from api.schemas.subjects import SUBJECT_ID

RECEIPT = {
    "record_id": f"{SUBJECT_ID}:3", "schema_version": "ISO/IEC TS 27560:2023; compliance-ledger receipt 1",
    "subject_id": SUBJECT_ID, "purpose": "info_mail", "state": "given",
    "time": "2026-01-05T09:00:00Z", "method": "double_opt_in", "channel": "email",
    "notice": "https://example.org/privacy", "notice_version": "2026-01",
    "controller": "Example Vendor B.V.", "controller_contact": "privacy@example.org",
    "jurisdiction": "NL", "legal_basis": "GDPR Art. 6(1)(a) consent", "recorded_by": "crm",
}


class ConsentReceiptOut(BaseModel):
    model_config = examples(RECEIPT)

    record_id: str = Field(
        description="record identifier: `<subject id>:<version>`, the event an auditor can prove"
    )
    schema_version: str
    subject_id: UUID = Field(description="PII principal identifier (a random UUID, never an email)")
    purpose: str
    state: str = Field(description="given or withdrawn")
    time: Moment
    method: str = Field(description="how the decision was expressed, e.g. unsubscribe_link")
    channel: str | None = None
    notice: str | None = Field(None, description="the privacy notice shown")
    notice_version: str | None = None
    controller: str
    controller_contact: str
    jurisdiction: str
    legal_basis: str
    recorded_by: str = Field(description="who recorded it (extension)")


URL = "https://ledger.example/v1/unsubscribe/AQ3v2mYc8k0sQe7qk1a8rG5pbmZvX21haWwAZW1haWy7c3Xo6V4xM0f2pL9d8nKq"


class UnsubscribeLink(BaseModel):
    model_config = examples(
        {"url": URL, "subject_id": SUBJECT_ID, "purpose": "info_mail", "channel": "email",
         "headers": {"List-Unsubscribe": f"<{URL}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
    )

    url: str = Field(
        description="POST it with no login (RFC 8058 one-click) to withdraw; GET shows a page "
        "with a button and changes nothing"
    )
    subject_id: UUID
    purpose: str
    channel: str | None = None
    headers: dict[str, str] = Field(
        description="the mail headers to send with it (RFC 2369 and RFC 8058)"
    )
