"""Fulfilling an access or portability request by delivering the export, hash recorded.

Building the file and recording its SHA-256 in one step means the hash on the `Fulfilled`
event is, by construction, the hash of the bytes handed over. With `files`, the bytes are
also kept (sealed with the subject's key, see `delivered_files`) before the fulfilment is
recorded, so the officer can download exactly what the ledger says was delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.ledger import Ledger, Outcome
from domain.errors import DataRequestStepOutOfOrder
from domain.vocabulary import DataRequestKind
from domain.vocabulary import WhatWasRead

from api.services.delivered_files import DeliveredFiles
from api.services.dossier import build_dossier
from api.services.export_formats import Export, render
from api.services.receipts import DEFAULT_CONTROLLER, Controller

DELIVERED_KINDS = (DataRequestKind.ACCESS.value, DataRequestKind.PORTABILITY.value)


@dataclass(frozen=True)
class Delivery:
    export: Export
    outcome: Outcome
    kept_until: datetime | None  # None when no copy could be kept (the subject has no key)


def is_delivered_with_export(kind: str) -> bool:
    return kind in DELIVERED_KINDS


def deliver_export(
    ledger: Ledger, request_id: UUID, actor: str, format: str = "xlsx",
    controller: Controller = DEFAULT_CONTROLLER,
) -> tuple[Export, Outcome]:
    """The export of the request's subject, and the fulfilment that records its hash.

    Refused (409) for other kinds of request, and by the request's own rules (identity not
    verified, fee not accepted, already closed) before anything is recorded; InvalidInput
    ("format") for an unknown format."""
    delivery = deliver_and_keep(ledger, request_id, actor, format, controller)
    return delivery.export, delivery.outcome


def deliver_and_keep(
    ledger: Ledger, request_id: UUID, actor: str, format: str = "xlsx",
    controller: Controller = DEFAULT_CONTROLLER, files: DeliveredFiles | None = None,
    by_the_subject: bool = False,
) -> Delivery:
    """As `deliver_export`, keeping a sealed copy in `files` when given. The copy is stored
    before the fulfilment is recorded and removed again if the ledger refuses it, so a
    recorded hash always has its bytes (until erasure or `KEPT_FOR`), and a refused one none.

    `by_the_subject`: the person downloads their own export (the privacy center): nobody of
    the vendor's reads it, so no vendor read is logged; a closed tenant's data is still not
    handed over."""
    request = ledger.data_request(request_id)
    if request.kind not in DELIVERED_KINDS:
        raise DataRequestStepOutOfOrder(
            f"a {request.kind} request is not fulfilled with an export"
        )
    # The request's own rules on a throwaway copy first: nothing is built or kept for a
    # request that may not be fulfilled yet (identity unverified, fee not accepted, closed).
    request.fulfil(actor, ledger.now())
    if by_the_subject:
        ledger.ensure_subject_data_may_leave(request.subject_id)
    else:
        # The officer builds the subject's export: a read of their data by the vendor, logged
        # for the tenant before it is built (and refused while the tenant is terminated).
        ledger.record_vendor_read(
            request.subject_id, actor, "officer", WhatWasRead.EXPORT.value,
            request_id=request_id,
        )
    export = render(build_dossier(ledger, request.subject_id, controller=controller), format)
    kept_until = None
    if files is not None:
        kept_until = files.keep(request_id, request.subject_id, export)
    try:
        outcome = ledger.fulfil_data_request(
            request_id, actor, delivery_sha256=export.sha256, delivery_format=export.format
        )
    except BaseException:
        if files is not None:
            files.discard(request_id, export.sha256)
        raise
    return Delivery(export, outcome, kept_until)
