"""Bulk consent import: `POST /v1/consents:batch`, up to 1,000 decisions, each answered on its own.

For migrations and consent banners. Decisions for different subjects run side by side, so that
on PostgreSQL the Ledger's group commit stores them a few dozen to a transaction; a subject's
own decisions run one after the other, in the order given (given then withdrawn stays
withdrawn). One bad decision (invalid, unknown subject, erased subject) is answered by itself
and does not stop the others. With an `Idempotency-Key` a retried batch gets the first answer.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from fastapi import APIRouter
from pydantic import ValidationError

from api.http.deps import LedgerDep, OfficerOrSystem
from api.http.idempotency import IdempotentRoute
from api.http.problems import documented, domain_status
from api.schemas.consent_batch import (
    ConsentBatch,
    ConsentBatchAnswer,
    ConsentBatchDecision,
    ConsentBatchItem,
)
from domain.ledger import Ledger
from domain.errors import DomainError, InvalidInput
from domain.vocabulary import ConsentStatus

router = APIRouter(
    prefix="/v1", tags=["consents"], route_class=IdempotentRoute,
    responses=documented(401, 403, 422),
)
CALLERS = 8  # decisions in flight at once: enough to fill a group commit, few enough to share


@router.post("/consents:batch")
def record_batch(body: ConsentBatch, caller: OfficerOrSystem, ledger: LedgerDep) -> ConsentBatchAnswer:
    """Record up to 1,000 consent decisions; each gets its own answer: 200 with its `position`,
    404 (no such subject), 409 (the subject was erased) or 422 (the decision is invalid, naming
    the field). More than 1,000 decisions is a 422 for the whole request."""
    answers: list[ConsentBatchItem | None] = [None] * len(body.decisions)
    by_subject: dict[UUID, list[tuple[int, ConsentBatchDecision]]] = {}
    for index, raw in enumerate(body.decisions):
        try:
            decision = ConsentBatchDecision.model_validate(raw)
        except ValidationError as error:
            answers[index] = _invalid(index, error)
            continue
        by_subject.setdefault(decision.subject_id, []).append((index, decision))

    def decide_all(decisions: list[tuple[int, ConsentBatchDecision]]) -> None:
        for index, decision in decisions:
            answers[index] = _decide(ledger, caller.actor, index, decision)

    if by_subject:
        with ThreadPoolExecutor(max_workers=min(CALLERS, len(by_subject))) as pool:
            for _ in pool.map(decide_all, by_subject.values()):
                pass  # re-raises here what is not a decision's own fault (the store is down)
    items = [answer for answer in answers if answer is not None]
    recorded = [item.position for item in items if item.position is not None]
    return ConsentBatchAnswer(items=items, position=max(recorded, default=None))


def _decide(ledger: Ledger, actor: str, index: int, decision: ConsentBatchDecision) -> ConsentBatchItem:
    channel = decision.channel.value if decision.channel else None
    try:
        if decision.status is ConsentStatus.GIVEN:
            outcome = ledger.give_consent(
                decision.subject_id, decision.purpose.value, decision.method.value,
                decision.notice_version or "", actor, channel=channel,
            )
        else:
            outcome = ledger.withdraw_consent(
                decision.subject_id, decision.purpose.value, decision.method.value, actor,
                channel=channel, notice_version=decision.notice_version,
            )
    except DomainError as error:
        return ConsentBatchItem(
            index=index, status=domain_status(error), error=error.detail,
            field=error.field if isinstance(error, InvalidInput) else None,
        )
    return ConsentBatchItem(index=index, status=200, position=outcome.position)


def _invalid(index: int, error: ValidationError) -> ConsentBatchItem:
    first: dict[str, Any] = dict(error.errors()[0])
    field = ".".join(str(part) for part in first.get("loc", ())) or "decision"
    return ConsentBatchItem(
        index=index, status=422, error=f"{field}: {first.get('msg', 'invalid')}", field=field
    )
