"""Subjects (the people whose data the vendor holds), their consents and their history; and
how a subject and its events are shown to a caller (`subject_answer`, `history_item`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from api.http.auth import Caller, Role
from api.schemas.base import Body, Moment, Position, body_config, examples
from api.schemas.masking import PERSONAL_FIELDS, for_caller, masked
from api.schemas.tenants import TENANT_ID
from domain.personal import personal_fields
from domain.vocabulary import Channel, ConsentMethod, ConsentStatus, Purpose

SUBJECT_ID = "9d4c2b7a-1e3f-4a5b-8c6d-7e8f9a0b1c2d"


class SubjectCreate(Body):
    model_config = body_config(
        {"tenant_id": TENANT_ID, "name": "Jan Jansen", "email": "jan@example.org",
         "phone": "+31 6 1234 5678"}
    )

    tenant_id: UUID | None = Field(
        None, description="the tenant whose person this is; none for the vendor's own contacts"
    )
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=254)
    phone: str | None = Field(None, max_length=40)


class SubjectPatch(Body):
    model_config = body_config({"email": "jan.jansen@example.org"})

    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, min_length=3, max_length=254)
    phone: str | None = Field(None, max_length=40)


class ChannelConsent(BaseModel):
    status: str = Field(description="given or withdrawn")
    channel: str | None = Field(
        None, description="the channel the decision named; null: it was made for every channel"
    )
    since: Moment
    notice_version: str | None = None
    method: str | None = None


class ConsentState(ChannelConsent):
    """A purpose's last decision, and the decision standing for each channel."""

    channels: dict[str, ChannelConsent] = Field(
        default_factory=dict,
        description="each channel with a standing decision: its own, or the last one made "
        "for every channel, whichever came later",
    )


class SubjectOut(BaseModel):
    model_config = examples(
        {
            "id": SUBJECT_ID, "tenant_id": TENANT_ID, "erased": False, "name": "Jan Jansen",
            "email": "jan@example.org", "phone": None,
            "consents": {"info_mail": {
                "status": "given", "channel": "email", "since": "2026-01-05T09:00:00Z",
                "notice_version": "2026-01", "method": "web_form",
                "channels": {"email": {"status": "given", "channel": "email",
                                       "since": "2026-01-05T09:00:00Z",
                                       "notice_version": "2026-01", "method": "web_form"}},
            }},
        },
        {"id": SUBJECT_ID, "tenant_id": TENANT_ID, "erased": True},
    )

    id: UUID
    tenant_id: UUID | None = None
    erased: bool = False
    kind: str | None = Field(
        None, description="person (registered with name and e-mail) or visitor (a website "
        "visitor, made by its consent-banner choices: no name, e-mail or phone)",
    )
    name: str | None = Field(None, description='"***" for auditors; absent once erased')
    email: str | None = None
    phone: str | None = None
    consents: dict[str, ConsentState] | None = None
    created_at: Moment | None = None
    updated_at: Moment | None = None
    as_of: Moment | None = Field(None, description="set when the answer is of a past moment")


class ConsentDecision(Body):
    model_config = body_config(
        {"status": "given", "channel": "email", "notice_version": "2026-01",
         "method": "web_form"},
        {"status": "withdrawn", "method": "email"},
    )

    status: ConsentStatus
    channel: Channel | None = None
    notice_version: str | None = Field(
        None, max_length=100, description="the privacy notice shown; required to give consent"
    )
    method: ConsentMethod = Field(description="how the person expressed it; never pre-ticked")
    ip_address: str | None = Field(None, max_length=64)


class ConsentRecorded(BaseModel):
    model_config = examples(
        {"subject_id": SUBJECT_ID, "purpose": "info_mail", "status": "given", "position": 12}
    )

    subject_id: UUID
    purpose: Purpose
    status: ConsentStatus
    position: Position


class ChannelAnswer(BaseModel):
    allowed: bool
    reason: str | None = Field(None, description="why not, when not allowed")
    status: str | None = Field(None, description="the standing decision; null when never decided")
    decided_for: str | None = Field(
        None, description="the channel the standing decision named; null: every channel"
    )
    since: Moment | None = None
    notice_version: str | None = None
    method: str | None = None


class ConsentAnswer(ChannelAnswer):
    """With `?channel=`: the answer for that channel. Without: `allowed` is true only when
    the purpose is allowed on every channel (a consent for every channel stands and no
    channel was withdrawn since); `channels` answers each channel, and status, since,
    notice_version and method describe the purpose's last decision."""

    model_config = examples(
        {"subject_id": SUBJECT_ID, "purpose": "info_mail", "channel": "email", "allowed": True,
         "status": "given", "decided_for": None, "since": "2026-01-05T09:00:00Z",
         "notice_version": "2026-01", "method": "web_form"},
        {"subject_id": SUBJECT_ID, "purpose": "profiling", "channel": "sms", "allowed": False,
         "reason": "consent was never given", "status": None},
    )

    subject_id: UUID
    purpose: Purpose
    channel: str | None = Field(None, description="the channel asked about; null: every channel")
    channels: dict[str, ChannelAnswer] | None = Field(
        None, description="without ?channel=: each channel's own answer"
    )


class HistoryEvent(BaseModel):
    model_config = examples(
        {"version": 1, "event": "Registered", "at": "2026-01-05T09:00:00Z",
         "data": {"name": "Jan Jansen", "email": "jan@example.org", "actor": "crm"}}
    )

    version: int = Field(description="the event's number in the subject's own history, from 1")
    event: str
    at: Moment
    data: dict[str, Any] = Field(description='the event\'s fields; "[erased]" after erasure')


class UnsubscribeLinkCreate(Body):
    model_config = body_config({"purpose": "info_mail", "channel": "email"})

    purpose: Purpose
    channel: Channel | None = None


def subject_answer(
    caller: Caller, profile: dict[str, Any], as_of: datetime | None = None, *,
    masked_for_officers: bool = False,
) -> SubjectOut:
    """The profile as this caller sees it: auditors (and, in lists, officers) with "***" for
    the personal fields."""
    if profile.get("erased"):
        # No personal field at all, not even "[erased]": the person is gone from this view.
        return SubjectOut(
            id=profile["id"], tenant_id=profile.get("tenant_id"), erased=True, as_of=as_of
        )
    shown = masked(profile) if masked_for_officers and caller.role is Role.OFFICER else profile
    return SubjectOut.model_validate({**for_caller(caller, shown), "as_of": as_of})


def history_item(caller: Caller, event: Any) -> dict[str, Any]:
    """One of the subject's events as a `HistoryEvent`'s fields, masked for auditors."""
    hidden = {"originator_id", "originator_version", "timestamp"}
    data = {k: _plain(v) for k, v in vars(event).items() if k not in hidden}
    personal = PERSONAL_FIELDS | frozenset(personal_fields(event))
    return {
        "version": event.originator_version,
        "event": type(event).__name__,
        "at": event.timestamp,
        "data": for_caller(caller, data, personal),
    }


def _plain(value: Any) -> Any:
    """Event fields as JSON: ids and times as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
