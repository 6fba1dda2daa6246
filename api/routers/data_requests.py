"""Subjects' requests after receipt: verify, extend, quote, accept or decline, fulfil, reject (officer)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from api.dependencies import LedgerDep, Officer, OfficerOrAuditor, ReadDep, not_found
from api.idempotency import IdempotentRoute
from api.paging import Page, PagingDep, fetch_page
from api.problems import documented
from api.schemas.data_requests import (
    DataRequestChanged,
    DataRequestOut,
    Extension,
    Fulfilment,
    IdentityVerification,
    QuoteCreate,
    Rejection,
)
from domain.application import Outcome
from domain.data_request import DataRequest

router = APIRouter(
    prefix="/v1/requests", tags=["subjects' requests"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
WRITE = documented(409)
READ = documented(503)
Status = Literal[
    "received", "verified", "quoted", "quote_accepted", "fulfilled", "rejected", "declined"
]


def request_view(request: DataRequest) -> dict[str, Any]:
    return {
        "id": request.id, "subject_id": request.subject_id, "tenant_id": request.tenant_id,
        "kind": request.kind, "channel": request.channel, "status": request.status,
        "received_at": request.received_at, "due_at": request.due_at,
        "overdue": request.overdue, "identity_verified": request.identity_verified,
        "quote": request.quote, "delivery_sha256": request.delivery_sha256,
    }


def changed(outcome: Outcome) -> DataRequestChanged:
    return DataRequestChanged(**request_view(outcome.aggregate), position=outcome.position)


@router.get("", responses=READ)
def list_requests(
    caller: OfficerOrAuditor, read: ReadDep, page: PagingDep,
    status: Annotated[Status | None, Query(description="only requests in this state")] = None,
    overdue: Annotated[bool | None, Query(description="only (not) overdue ones")] = None,
) -> Page[DataRequestOut]:
    """Open work with its deadlines, soonest due first."""
    return Page[DataRequestOut].model_validate(fetch_page(page, lambda: read.data_requests(
        status=status, overdue=overdue, after=page.after, limit=page.limit
    )))


@router.get("/{request_id}", responses=READ)
def get_request(request_id: UUID, caller: OfficerOrAuditor, read: ReadDep) -> DataRequestOut:
    found = read.data_request(request_id)
    if found is None:
        raise not_found("subject's request", request_id)
    return DataRequestOut.model_validate(found)


@router.post("/{request_id}/verify-identity", responses=WRITE)
def verify_identity(
    request_id: UUID, body: IdentityVerification, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Record how the requester's identity was checked (needed before fulfilling)."""
    return changed(ledger.verify_identity(request_id, body.method, caller.actor))


@router.post("/{request_id}/extend", responses=WRITE)
def extend(
    request_id: UUID, body: Extension, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Extend the deadline by up to two more months in all, with a reason."""
    return changed(ledger.extend_data_request(request_id, body.months, body.reason, caller.actor))


@router.post("/{request_id}/quote", responses=WRITE)
def quote(
    request_id: UUID, body: QuoteCreate, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Quote a fee for a portability export."""
    return changed(
        ledger.quote_data_request(request_id, body.amount_cents, body.currency, caller.actor)
    )


@router.post("/{request_id}/accept-quote", responses=WRITE)
def accept_quote(request_id: UUID, caller: Officer, ledger: LedgerDep) -> DataRequestChanged:
    """The person accepted the fee: delivery is due within 14 days."""
    return changed(ledger.accept_quote(request_id, caller.actor))


@router.post("/{request_id}/decline-quote", responses=WRITE)
def decline_quote(request_id: UUID, caller: Officer, ledger: LedgerDep) -> DataRequestChanged:
    """The person declined the fee: the request closes."""
    return changed(ledger.decline_quote(request_id, caller.actor))


@router.post("/{request_id}/fulfil", responses=WRITE)
def fulfil(
    request_id: UUID, caller: Officer, ledger: LedgerDep, body: Fulfilment | None = None
) -> DataRequestChanged:
    """Close the request as done; fulfilling an erasure request erases the subject."""
    body = body or Fulfilment()
    return changed(ledger.fulfil_data_request(
        request_id, caller.actor, body.delivery_sha256, body.delivery_format
    ))


@router.post("/{request_id}/reject", responses=WRITE)
def reject(
    request_id: UUID, body: Rejection, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Refuse the request, with the reason the person will be told."""
    return changed(ledger.reject_data_request(request_id, body.reason, caller.actor))
