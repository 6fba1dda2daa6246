"""Consent per purpose and channel: recorded by the vendor's systems, asked about before every
use.

The two routes are the API's busiest: the common, well-formed request is answered by a fast
function beside each (api/http/fast_path.py: no dependency solving, one hop to a thread), and
everything else by the route as FastAPI declares and documents it. Both run the same
`_record` or `_check` and build the same answer.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.http.auth import Caller
from api.http.deps import (
    CONSENT_READERS, OFFICER_OR_SYSTEM, ConsentReader, LedgerDep, OfficerOrSystem, ReadDep,
)
from api.http.fast_path import (
    FastPathRoute, answers_quickly, canonical_uuid, in_thread, json_answer, quick_caller,
)
from api.http.idempotency import HEADER as IDEMPOTENCY_KEY
from api.http.problems import documented
from api.schemas.subjects import ConsentAnswer, ConsentDecision, ConsentRecorded
from api.services.visibility import not_found
from domain.ledger import Ledger
from projections.read_models.queries.contract import ReadSide
from domain.vocabulary import Channel, ConsentStatus, Purpose

router = APIRouter(
    prefix="/v1/subjects/{subject_id}/consents", tags=["consents"],
    route_class=FastPathRoute, responses=documented(401, 403, 404, 422),
)


async def decide_quickly(request: Request) -> Response | None:
    """`decide` for a well-formed request (api/http/fast_path.py); None for anything else."""
    if request.scope["query_string"] or IDEMPOTENCY_KEY in request.headers:
        return None
    if request.headers.get("content-type") != "application/json":
        return None
    asked = _path(request)
    caller = quick_caller(request, OFFICER_OR_SYSTEM)
    if asked is None or caller is None:
        return None
    try:
        body = ConsentDecision.model_validate(await request.json())
    except (ValueError, ValidationError):
        return None  # the full path names what is wrong (422)
    subject_id, purpose = asked
    ledger: Ledger = request.app.state.stores.ledger
    position = await in_thread(request, _record, ledger, subject_id, purpose, body, caller)
    return json_answer(ConsentRecorded(
        subject_id=subject_id, purpose=purpose, status=body.status, position=position
    ))


def _path(request: Request) -> tuple[UUID, Purpose] | None:
    params = request.path_params
    subject_id = canonical_uuid(params["subject_id"])
    try:
        purpose = Purpose(params["purpose"])
    except ValueError:
        return None
    return None if subject_id is None else (subject_id, purpose)


@router.put("/{purpose}", responses=documented(409))
@answers_quickly(decide_quickly)
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


async def ask_quickly(request: Request) -> Response | None:
    """`ask` for a well-formed request (api/http/fast_path.py); None for anything else,
    `min_position` included (it waits for the read side, which the full path does)."""
    channel = None
    if request.scope["query_string"]:
        query = request.query_params
        if len(query) != 1 or "channel" not in query:
            return None
        try:
            channel = Channel(query["channel"])
        except ValueError:
            return None
    asked = _path(request)
    if asked is None or quick_caller(request, CONSENT_READERS) is None:
        return None
    source = request.app.state.container.reads.choose()
    if source is None:
        return None  # the full path says why (503)
    subject_id, purpose = asked
    named = channel.value if channel else None
    # On the event loop: a hop to a thread and back cost more than the query (fast_path.py).
    settled, found = await source.read.consent_check_settled(subject_id, purpose.value, named)
    if not settled:  # the profile is behind the subject's last event: read the events
        found = await in_thread(request, source.read.consent_check, subject_id, purpose.value,
                                named)
    return json_answer(_consent_answer(found, subject_id, purpose, channel))


@router.get("/{purpose}", responses=documented(503))
@answers_quickly(ask_quickly)
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
    return await run_in_threadpool(_check, read, subject_id, purpose, channel)


def _check(
    read: ReadSide, subject_id: UUID, purpose: Purpose, channel: Channel | None
) -> ConsentAnswer:
    found = read.consent_check(subject_id, purpose.value, channel.value if channel else None)
    return _consent_answer(found, subject_id, purpose, channel)


def _consent_answer(
    found: dict[str, Any] | None, subject_id: UUID, purpose: Purpose, channel: Channel | None
) -> ConsentAnswer:
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
