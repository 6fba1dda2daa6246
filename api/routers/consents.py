"""Consent per purpose: recorded by the vendor's systems, asked about before every use."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from api.auth import Caller, Role
from api.dependencies import LedgerDep, OfficerOrSystem, ReadDep, allow, not_found
from api.idempotency import IdempotentRoute
from api.problems import documented
from api.schemas.subjects import ConsentAnswer, ConsentDecision, ConsentRecorded
from domain.values import ConsentStatus, Purpose

router = APIRouter(
    prefix="/v1/subjects/{subject_id}/consents", tags=["consents"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)
ConsentReader = Annotated[Caller, Depends(allow(Role.SYSTEM, Role.OFFICER, Role.AUDITOR))]


@router.put("/{purpose}", responses=documented(409))
def decide(
    subject_id: UUID, purpose: Purpose, body: ConsentDecision, caller: OfficerOrSystem,
    ledger: LedgerDep,
) -> ConsentRecorded:
    """Record a decision: giving names the notice version and the method; withdrawing is as
    easy as giving (no notice version needed). An unknown purpose is a 422."""
    channel = body.channel.value if body.channel else None
    if body.status is ConsentStatus.GIVEN:
        outcome = ledger.give_consent(
            subject_id, purpose.value, body.method.value, body.notice_version or "",
            caller.actor, channel=channel, ip_address=body.ip_address,
        )
    else:
        outcome = ledger.withdraw_consent(
            subject_id, purpose.value, body.method.value, caller.actor, channel=channel,
            notice_version=body.notice_version, ip_address=body.ip_address,
        )
    return ConsentRecorded(
        subject_id=subject_id, purpose=purpose, status=body.status, position=outcome.position
    )


@router.get("/{purpose}", responses=documented(503))
def ask(subject_id: UUID, purpose: Purpose, caller: ConsentReader, read: ReadDep) -> ConsentAnswer:
    """May the vendor use this person's data for this purpose? Never given means no."""
    profile = read.subject_profile(subject_id)
    if profile is None:
        raise not_found("subject", subject_id)
    state = None if profile.get("erased") else read.consent(subject_id, purpose.value)
    if state is None:
        return ConsentAnswer(subject_id=subject_id, purpose=purpose, allowed=False)
    return ConsentAnswer.model_validate(
        {**state, "subject_id": subject_id, "purpose": purpose,
         "allowed": state.get("status") == ConsentStatus.GIVEN.value}
    )
