"""Consent per purpose and channel: recorded by the vendor's systems, asked about before every
use.

The two routes are the API's busiest, so they are `async def` with one explicit hop to a
thread for the store: a plain `def` route costs FastAPI two hops (the route, then validating
its answer), on top of the dependencies'.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.http.auth import Caller
from api.http.deps import ConsentReader, LedgerDep, OfficerOrSystem, ReadDep
from api.http.idempotency import IdempotentRoute
from api.http.problems import documented
from api.schemas.subjects import ConsentAnswer, ConsentDecision, ConsentRecorded
from api.services.visibility import not_found
from domain.ledger import Ledger
from domain.vocabulary import Channel, ConsentStatus, Purpose

router = APIRouter(
    prefix="/v1/subjects/{subject_id}/consents", tags=["consents"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)


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
    subject_id: UUID, purpose: Purpose, caller: ConsentReader, read: ReadDep,
    channel: Annotated[
        Channel | None,
        Query(description="the channel to ask about; without it, `allowed` means every channel"),
    ] = None,
) -> ConsentAnswer:
    """May the vendor use this person's data for this purpose (on this channel)? Never given
    means no; so does anything about an erased person or a terminated tenant's subject. A
    check that starts after a withdrawal was answered never says yes, on any process."""
    found = await run_in_threadpool(
        read.consent_check, subject_id, purpose.value, channel.value if channel else None
    )
    if found is None:
        raise not_found("subject", subject_id)
    answer = _answer(found)
    if channel is None:
        answer["channels"] = {name: _answer(each) for name, each in found["channels"].items()}
    return ConsentAnswer.model_validate(
        {**answer, "subject_id": subject_id, "purpose": purpose,
         "channel": channel.value if channel else None}
    )


def _answer(found: dict[str, Any]) -> dict[str, Any]:
    decision = found["decision"] or {}
    return {
        "allowed": found["allowed"], "reason": found["reason"],
        "status": decision.get("status"), "decided_for": decision.get("channel"),
        "since": decision.get("since"), "notice_version": decision.get("notice_version"),
        "method": decision.get("method"),
    }
