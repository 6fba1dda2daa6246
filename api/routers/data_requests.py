"""Subjects' requests after receipt: verify, extend, quote, accept or decline, fulfil, reject
(officer); the export delivered for an access or portability request, downloaded again; an
erasure's or rectification's propagation to the vendor's systems, started when the identity is
verified and waived by an officer when a system will not confirm."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.http.deps import (
    ContainerDep,
    CurrentLedgerDep,
    LedgerDep,
    Officer,
    OfficerOrAuditor,
    ReadDep,
    SettingsDep,
)
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import ProblemException, documented, field_problem
from api.services.delivered_files import DeliveredFiles, DeliveryGone
from api.services.delivery import deliver_and_keep, is_delivered_with_export
from api.services.export_formats import FORMATS, Export
from api.services.receipts import controller_from_settings
from api.services.vendor_reads import Why, record_read
from api.services.visibility import not_found
from api.schemas.base import one_of
from api.schemas.masking import for_caller
from api.schemas.propagation import Waiver
from api.schemas.data_requests import (
    DataRequestChanged,
    DataRequestFulfilled,
    DataRequestOut,
    DeliveryOut,
    Extension,
    Fulfilment,
    IdentityVerification,
    QuoteCreate,
    Rejection,
)
from domain.ledger import Ledger, Outcome
from domain.data_request import DataRequest
from domain.vocabulary import DataRequestKind, DataRequestStatus, WhatWasRead

router = APIRouter(
    prefix="/v1/requests", tags=["subjects' requests"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
WRITE = documented(409)
READ = documented(503)
_REASONS = frozenset({"reason"})


def request_view(request: DataRequest, now: datetime) -> dict[str, Any]:
    """The request as every answer shows it; overdue by the domain's rule at `now` (the
    ledger's clock), whether the sweep has marked it yet or not, as GET and the dossier say."""
    return {
        "id": request.id, "subject_id": request.subject_id, "tenant_id": request.tenant_id,
        "kind": request.kind, "channel": request.channel, "status": request.status,
        "received_at": request.received_at, "due_at": request.due_at,
        "entered_at": request.created_on, "entered_by": request.entered_by,
        "overdue": request.is_overdue(now), "identity_verified": request.identity_verified,
        "extended_months": request.extended_months, "quote": request.quote,
        "delivery_sha256": request.delivery_sha256,
        "propagation": [
            {"system_id": system_id, **state} for system_id, state in request.propagation.items()
        ],
        "waiting_for": [
            {"system_id": system_id, "name": request.propagation[system_id]["name"],
             "status": request.propagation[system_id]["status"]}
            for system_id in (request.waiting_for() if request.is_open else [])
        ],
    }


def changed(ledger: Ledger, outcome: Outcome) -> DataRequestChanged:
    return DataRequestChanged(
        **request_view(outcome.aggregate, ledger.now()), position=outcome.position
    )


def delivered_files(request: Request) -> DeliveredFiles:
    """The kept copies of delivered exports, in the store's ordinary database."""
    return request.app.state.container.delivered_files()


FilesDep = Annotated[DeliveredFiles, Depends(delivered_files)]
DOWNLOAD = {
    200: {
        "description": "the file: xlsx, a zip of CSV files, or JSON; its SHA-256 in "
        "`X-Content-SHA256`",
        "content": {
            **{
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type, _, _ in FORMATS.values() if media_type != "application/json"
            },
            "application/json": {"schema": {"type": "object"}},
        },
        "headers": {
            "X-Content-SHA256": {
                "description": "lowercase hex SHA-256 of the body",
                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
            "Content-Disposition": {
                "description": "attachment, with the file's name", "schema": {"type": "string"},
            },
        },
    },
}


def export_response(export: Export, headers: dict[str, str] | None = None) -> Response:
    """A built export as a download, with its hash so the receiver can check it."""
    return Response(
        export.content, media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-SHA256": export.sha256,
            "Cache-Control": "no-store",  # personal data: no cache may keep a copy
            **(headers or {}),
        },
    )


@router.get("", responses=READ)
def list_requests(
    caller: OfficerOrAuditor, read: ReadDep, page: PagingDep,
    status: Annotated[
        one_of(DataRequestStatus) | None, Query(description="only requests in this state")
    ] = None,
    overdue: Annotated[bool | None, Query(description="only (not) overdue ones")] = None,
) -> Page[DataRequestOut]:
    """Open work with its deadlines, soonest due first."""
    return Page[DataRequestOut].model_validate(fetch_page(page, lambda: read.data_requests(
        status=status, overdue=overdue, after=page.after, limit=page.limit
    )))


@router.get("/{request_id}", responses=READ)
def get_request(request_id: UUID, caller: OfficerOrAuditor, read: ReadDep) -> DataRequestOut:
    """The request, with where its propagation to the vendor's systems stands (a failure's
    or a waiver's reason masked for auditors)."""
    found = read.data_request(request_id)
    if found is None:
        raise not_found("subject's request", request_id)
    # Only the reasons: a system's name is no one's personal data.
    found["propagation"] = for_caller(caller, found["propagation"], _REASONS)
    return DataRequestOut.model_validate(found)


@router.post("/{request_id}/verify-identity", responses=WRITE)
def verify_identity(
    request_id: UUID, body: IdentityVerification, caller: Officer, ledger: LedgerDep,
    container: ContainerDep,
) -> DataRequestChanged:
    """Record how the requester's identity was checked (needed before fulfilling). An
    erasure or rectification request is then propagated to the registered systems it
    concerns (`propagation`), and is fulfilled once each has confirmed."""
    systems = container.systems().to_be_told()
    return changed(
        ledger, ledger.verify_identity(request_id, body.method, caller.actor, systems)
    )


@router.post("/{request_id}/propagation/waive", responses=WRITE)
def waive_propagation(
    request_id: UUID, body: Waiver, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Close the propagation without the confirmations still missing, with the reason why
    (recorded): the request may then be fulfilled. A system may still confirm afterwards."""
    return changed(ledger, ledger.waive_propagation(request_id, body.reason, caller.actor))


@router.post("/{request_id}/extend", responses=WRITE)
def extend(
    request_id: UUID, body: Extension, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Extend the deadline by up to two more months in all, with a reason."""
    return changed(
        ledger, ledger.extend_data_request(request_id, body.months, body.reason, caller.actor)
    )


@router.post("/{request_id}/quote", responses=WRITE)
def quote(
    request_id: UUID, body: QuoteCreate, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Quote a fee for a portability export."""
    return changed(ledger, ledger.quote_data_request(
        request_id, body.amount_cents, body.currency, caller.actor
    ))


@router.post("/{request_id}/accept-quote", responses=WRITE)
def accept_quote(request_id: UUID, caller: Officer, ledger: LedgerDep) -> DataRequestChanged:
    """The person accepted the fee: delivery is due within 14 days."""
    return changed(ledger, ledger.accept_quote(request_id, caller.actor))


@router.post("/{request_id}/decline-quote", responses=WRITE)
def decline_quote(request_id: UUID, caller: Officer, ledger: LedgerDep) -> DataRequestChanged:
    """The person declined the fee: the request closes."""
    return changed(ledger, ledger.decline_quote(request_id, caller.actor))


@router.post("/{request_id}/fulfil", responses=WRITE)
def fulfil(
    request_id: UUID, caller: Officer, ledger: LedgerDep, settings: SettingsDep,
    files: FilesDep, body: Fulfilment | None = None,
) -> DataRequestFulfilled:
    """Close the request as done. An access or portability request is fulfilled with the
    subject's export, built now in `format` (xlsx by default): its SHA-256 is recorded on the
    request and the very bytes can be downloaded from `delivery.url`. Fulfilling an erasure
    request erases the subject. An erasure or rectification request waits (409) until every
    system it was propagated to has confirmed, or the propagation was waived."""
    body = body or Fulfilment()
    request = ledger.data_request(request_id)
    exported = is_delivered_with_export(request.kind)
    if body.format is not None and not exported:
        raise field_problem(
            "format", f"only access and portability requests are fulfilled with an export; "
            f"this is a {request.kind} request",
        )
    if body.format is not None and body.delivery_sha256 is not None:
        raise field_problem(
            "delivery_sha256", "give either format (the ledger builds and delivers the export) "
            "or the hash of what you delivered yourself, not both",
        )
    if body.delivery_format is not None and body.delivery_sha256 is None:
        raise field_problem("delivery_format", "goes with delivery_sha256; to choose the "
                            "format of the export the ledger builds, give format")
    if exported and body.delivery_sha256 is None:
        delivery = deliver_and_keep(
            ledger, request_id, caller.actor, body.format or "xlsx",
            controller_from_settings(settings), files,
        )
        export = delivery.export
        return DataRequestFulfilled(
            **request_view(delivery.outcome.aggregate, ledger.now()),
            delivery_format=export.format, position=delivery.outcome.position,
            delivery=DeliveryOut(
                format=export.format, filename=export.filename, media_type=export.media_type,
                size=len(export.content), sha256=export.sha256,
                url=None if delivery.kept_until is None else f"{router.prefix}/{request_id}/delivery",
                kept_until=delivery.kept_until,
            ),
        )
    outcome = ledger.fulfil_data_request(
        request_id, caller.actor, body.delivery_sha256, body.delivery_format
    )
    if request.kind == DataRequestKind.ERASURE.value:
        files.forget_subject(request.subject_id)  # unreadable now; no reason to keep the rows
    return DataRequestFulfilled(
        **request_view(outcome.aggregate, ledger.now()), delivery_format=body.delivery_format,
        position=outcome.position,
    )


@router.get(
    "/{request_id}/delivery", response_model=None,
    responses={**DOWNLOAD, **documented(410)},
)
def download_delivery(
    request_id: UUID, caller: Officer, ledger: CurrentLedgerDep, files: FilesDep
) -> Response:
    """Exactly the bytes delivered when the request was fulfilled, whose SHA-256 the ledger
    recorded. Kept sealed with the subject's key for a limited time: 410 once they are gone
    (after that time, or at once when the subject is erased or their tenant purged)."""
    request = ledger.data_request(request_id)
    if request.delivery_sha256 is None:
        raise ProblemException(404, f"no export was delivered for request {request_id}")
    try:
        kept = files.fetch(request_id, request.delivery_sha256)
    except DeliveryGone as gone:
        raise ProblemException(410, gone.detail) from None
    # Fetched first (a copy that is gone reads nothing), logged before it is handed over.
    record_read(
        ledger, caller, request.subject_id, WhatWasRead.DELIVERY, Why(request_id, None)
    )
    return export_response(kept.export)


@router.post("/{request_id}/reject", responses=WRITE)
def reject(
    request_id: UUID, body: Rejection, caller: Officer, ledger: LedgerDep
) -> DataRequestChanged:
    """Refuse the request, with the reason the person will be told."""
    return changed(ledger, ledger.reject_data_request(request_id, body.reason, caller.actor))
