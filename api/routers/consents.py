"""Consent per purpose: recorded by the vendor's systems, asked about before every use.

The two routes are the API's busiest, so they are `async def` with one explicit hop to a
thread for the store: a plain `def` route costs FastAPI two hops (the route, then validating
its answer), on top of the dependencies'.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from api.auth import Caller, Role
from api.dependencies import LedgerDep, OfficerOrSystem, ReadDep, allow, not_found
from api.idempotency import IdempotentRoute
from api.problems import documented
from api.schemas.subjects import ConsentAnswer, ConsentDecision, ConsentRecorded
from domain.application import Ledger
from domain.values import ConsentStatus, Purpose
from projections.queries import ReadSide

router = APIRouter(
    prefix="/v1/subjects/{subject_id}/consents", tags=["consents"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)
ConsentReader = Annotated[Caller, Depends(allow(Role.SYSTEM, Role.OFFICER, Role.AUDITOR))]


@router.put("/{purpose}", responses=documented(409))
async def decide(
    subject_id: UUID, purpose: Purpose, body: ConsentDecision, caller: OfficerOrSystem,
    ledger: LedgerDep,
) -> ConsentRecorded:
    """Record a decision: giving names the notice version and the method; withdrawing is as
    easy as giving (no notice version needed). An unknown purpose is a 422."""
    position = await run_in_threadpool(_record, ledger, subject_id, purpose, body, caller)
    return ConsentRecorded(
        subject_id=subject_id, purpose=purpose, status=body.status, position=position
    )


def _record(
    ledger: Ledger, subject_id: UUID, purpose: Purpose, body: ConsentDecision, caller: Caller
) -> int:
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
    return outcome.position


@router.get("/{purpose}", responses=documented(503))
async def ask(
    subject_id: UUID, purpose: Purpose, caller: ConsentReader, read: ReadDep
) -> ConsentAnswer:
    """May the vendor use this person's data for this purpose? Never given means no."""
    state = await run_in_threadpool(_decision, read, subject_id, purpose)
    if state is None:
        return ConsentAnswer(subject_id=subject_id, purpose=purpose, allowed=False)
    return ConsentAnswer.model_validate(
        {**state, "subject_id": subject_id, "purpose": purpose,
         "allowed": state.get("status") == ConsentStatus.GIVEN.value}
    )


def _decision(read: ReadSide, subject_id: UUID, purpose: Purpose) -> dict[str, Any] | None:
    """The standing decision, None if there is none (never decided, or the subject is erased);
    404 if there is no such subject. One query, no sealed field opened."""
    exists, state = read.consent_check(subject_id, purpose.value)
    if not exists:
        raise not_found("subject", subject_id)
    return state
