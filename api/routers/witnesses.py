"""The witnesses that cosign the log's checkpoints, and what each last answered.

For officers and auditors: a witness that refuses (a stale size, a proof that does not hold) or
that has seen more of the log than it holds is what a wiped or truncated log looks like from
outside, so it is shown as the witness said it (api/witnesses/status.py).
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.http.deps import ContainerDep, OfficerOrAuditor, SettingsDep
from api.http.problems import documented
from api.http.query_parameters import StrictQueryRoute
from api.witnesses.status import all_statuses
from projections.merkle_log.notes import cosigned_sizes

router = APIRouter(
    prefix="/v1/audit", tags=["audit"], route_class=StrictQueryRoute,
    responses=documented(401, 403, 422),
)


class WitnessView(BaseModel):
    name: str = Field(description="the witness's key name")
    url: str = Field(description="its submission prefix (add-checkpoint is below it)")
    vkey: str = Field(description="its cosignature/v1 verifier key, as configured")
    largest_cosigned_size: int | None = Field(
        description="the largest tree size it cosigned here; null: never")
    witness_size: int | None = Field(
        description="the size it last said it cosigned (from a cosignature or a 409)")
    last_attempt_at: str | None = Field(description="when it was last asked (UTC); null: never")
    last_outcome: str | None = Field(
        description="cosigned, refused, inconsistent (it has seen more leaves than this log "
        "holds), unreachable or failed (this ledger could not build the request)")
    last_status: int | None = Field(description="its HTTP status, when it answered")
    detail: str = Field("", description="what it said, or what went wrong")


class WitnessList(BaseModel):
    items: list[WitnessView]


@router.get("/witnesses", response_model=WitnessList)
async def list_witnesses(_: OfficerOrAuditor, settings: SettingsDep, container: ContainerDep) -> WitnessList:
    """Each configured witness (LEDGER_WITNESSES) and its last answer."""
    db = container.stores.db

    def read() -> WitnessList:
        statuses = all_statuses(db)
        items = []
        for witness in settings.witnesses:
            status = statuses.get(witness.name)
            kept = cosigned_sizes(db, witness.verifier)
            largest = max((s for s in (kept, status and status.last_cosigned_size) if s is not None),
                          default=None)
            items.append(WitnessView(
                name=witness.name, url=witness.url, vkey=witness.verifier.vkey(),
                largest_cosigned_size=largest,
                witness_size=status.witness_size if status else None,
                last_attempt_at=status.last_attempt_at if status else None,
                last_outcome=status.last_outcome if status else None,
                last_status=status.last_status if status else None,
                detail=status.detail if status else "never asked yet",
            ))
        return WitnessList(items=items)

    return await run_in_threadpool(read)
