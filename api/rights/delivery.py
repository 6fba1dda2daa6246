"""Fulfilling an access or portability request by delivering the export, hash recorded.

Building the file and recording its SHA-256 in one step means the hash on the `Fulfilled`
event is, by construction, the hash of the bytes handed over.
"""

from __future__ import annotations

from uuid import UUID

from domain.application import Ledger, Outcome
from domain.errors import DataRequestStepOutOfOrder
from domain.values import DataRequestKind

from api.rights.dossier import build_dossier
from api.rights.export_formats import Export, render
from api.rights.receipts import DEFAULT_CONTROLLER, Controller

DELIVERED_KINDS = (DataRequestKind.ACCESS.value, DataRequestKind.PORTABILITY.value)


def deliver_export(
    ledger: Ledger, request_id: UUID, actor: str, format: str = "xlsx",
    controller: Controller = DEFAULT_CONTROLLER,
) -> tuple[Export, Outcome]:
    """The export of the request's subject, and the fulfilment that records its hash.

    Refused (409) for other kinds of request, and by the request's own rules (identity not
    verified, fee not accepted, already closed) before anything is recorded; InvalidInput
    ("format") for an unknown format."""
    request = ledger.data_request(request_id)
    if request.kind not in DELIVERED_KINDS:
        raise DataRequestStepOutOfOrder(
            f"a {request.kind} request is not fulfilled with an export"
        )
    export = render(build_dossier(ledger, request.subject_id, controller=controller), format)
    outcome = ledger.fulfil_data_request(
        request_id, actor, delivery_sha256=export.sha256, delivery_format=export.format
    )
    return export, outcome
