"""Everything the ledger holds about one subject, as ordered sheets of rows.

The dossier is read from the ledger's events, not from the read models: what is handed
over for an access or portability request must be complete at the moment it is made, and
a projection may lag. The same dossier is written as xlsx, JSON or a zip of CSVs by
`api.services.export_formats`; every cell is a plain value or a timezone-aware datetime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.access import AccessRequest
from domain.ledger import Ledger
from domain.data_request import DataRequest
from domain.disclosure import Disclosure
from domain.subject import Subject
from domain.vendor_read import VendorRead

from api.services.receipts import DEFAULT_CONTROLLER, Controller, receipts_from_events
from api.services.scan import events_of

Cell = str | int | bool | datetime | None


@dataclass(frozen=True)
class Sheet:
    kind: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Dossier:
    subject_id: UUID
    tenant_id: UUID | None
    erased: bool
    generated_at: datetime
    position: int  # the last event in the ledger when the dossier was read
    sheets: tuple[Sheet, ...]

    def sheet(self, kind: str) -> Sheet:
        for sheet in self.sheets:
            if sheet.kind == kind:
                return sheet
        raise KeyError(kind)


KINDS = ("profile", "profile_history", "consents", "requests", "disclosures", "accesses")


def build_dossier(
    ledger: Ledger, subject_id: UUID, *, controller: Controller = DEFAULT_CONTROLLER
) -> Dossier:
    """NotFound for an unknown subject. An erased subject's dossier still lists what is
    kept (decisions, requests, accesses) with every personal field "[erased]"."""
    position = ledger.recorder.max_notification_id() or 0
    now = ledger.now()
    subject = ledger.subject(subject_id)
    events = list(ledger.subject_events(subject_id))
    return Dossier(
        subject_id=subject_id,
        tenant_id=subject.tenant_id,
        erased=subject.erased,
        generated_at=now,
        position=position,
        sheets=(
            _profile(subject),
            _profile_history(events),
            _consents(events, controller),
            _requests(ledger, events, now),
            _disclosures(ledger, subject_id),
            _accesses(ledger, subject_id, subject.tenant_id),
        ),
    )


def _sheet(kind: str, title: str, columns: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> Sheet:
    return Sheet(kind, title, columns, tuple(rows))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _profile(subject: Subject) -> Sheet:
    columns = ("subject_id", "tenant_id", "name", "email", "phone", "erased",
               "registered_at", "last_changed_at", "erased_at", "erasure_final_at")
    row = (
        str(subject.id), _text(subject.tenant_id), subject.name, subject.email, subject.phone,
        subject.erased, subject.created_on, subject.modified_on, subject.erased_at,
        subject.erasure_final_at,
    )
    return _sheet("profile", "Profile", columns, [row])


def _profile_history(events: list[Any]) -> Sheet:
    columns = ("at", "change", "name", "email", "phone", "recorded_by", "event_id")
    rows: list[tuple[Cell, ...]] = []
    for event in events:
        if isinstance(event, Subject.Registered):
            change = "registered"
        elif isinstance(event, Subject.Rectified):
            change = "rectified"
        elif isinstance(event, Subject.Erased):
            rows.append((event.timestamp, "erased", None, None, None, event.actor,
                         f"{event.originator_id}:{event.originator_version}"))
            continue
        elif isinstance(event, _VISITOR_EVENTS):
            # A website visitor's own events (domain/visitor.py): nothing personal in them.
            rows.append((event.timestamp, _visitor_change(event), None, None, None,
                         event.actor, f"{event.originator_id}:{event.originator_version}"))
            continue
        elif isinstance(event, Subject.ErasureBecameFinal):
            # No person decided it: the ledger destroyed the last key that could undo it.
            rows.append((event.timestamp, "erasure final in every copy", None, None, None,
                         "ledger", f"{event.originator_id}:{event.originator_version}"))
            continue
        else:
            continue
        rows.append((event.timestamp, change, event.name, event.email, event.phone, event.actor,
                     f"{event.originator_id}:{event.originator_version}"))
    return _sheet("profile_history", "Profile history", columns, rows)


_VISITOR_EVENTS = (Subject.Arrived, Subject.NoticeShown, Subject.LinkedTo, Subject.VisitorLinked)


def _visitor_change(event: Any) -> str:
    if isinstance(event, Subject.Arrived):
        return "a website visitor's first choice in the consent banner"
    if isinstance(event, Subject.NoticeShown):
        return f"notice {event.notice_version} shown ({event.category} cookies need no consent)"
    if isinstance(event, Subject.LinkedTo):
        return f"linked to the registered subject {event.subject_id}"
    return f"the website visitor {event.visitor} linked to this subject"


def _consents(events: list[Any], controller: Controller) -> Sheet:
    """The consent history: each row is that decision's ISO/IEC TS 27560 receipt, plus the
    IP address it came from when one was recorded (personal data held, so it is shown)."""
    receipts = receipts_from_events(events, controller)
    ips = {
        f"{e.originator_id}:{e.originator_version}": e.ip_address
        for e in events
        if isinstance(e, (Subject.ConsentGiven, Subject.ConsentWithdrawn))
    }
    columns = ("record_id", "time", "purpose", "state", "method", "channel", "notice",
               "notice_version", "controller", "controller_contact", "jurisdiction",
               "legal_basis", "recorded_by", "ip_address", "subject_id", "schema_version")
    rows = [
        (r.record_id, r.time, r.purpose, r.state, r.method, r.channel, r.notice,
         r.notice_version, r.controller, r.controller_contact, r.jurisdiction, r.legal_basis,
         r.recorded_by, ips.get(r.record_id), r.subject_id, r.schema_version)
        for r in receipts
    ]
    return _sheet("consents", "Consents and receipts", columns, rows)


def _requests(ledger: Ledger, events: list[Any], now: datetime) -> Sheet:
    columns = ("request_id", "kind", "channel", "status", "received_at", "due_at", "overdue",
               "identity_verified", "identity_method", "extended_months", "quote_amount_cents",
               "quote_currency", "details", "closed_at", "closing_reason", "delivery_format",
               "delivery_sha256")
    request_ids = list(dict.fromkeys(
        e.request_id for e in events if isinstance(e, Subject.RequestOpened)
    ))
    rows = [_request_row(ledger, request_id, now) for request_id in request_ids]
    rows.sort(key=lambda row: (row[4], row[0]))  # by receipt
    return _sheet("requests", "Requests", columns, rows)


def _request_row(ledger: Ledger, request_id: UUID, now: datetime) -> tuple[Cell, ...]:
    """`overdue` by the domain's rule at the dossier's moment, marked by the sweep or not."""
    request: DataRequest | None = None
    identity_method = closed_at = closing_reason = delivery_format = None
    for event in ledger.events.get(request_id):
        request = event.mutate(request)
        if isinstance(event, DataRequest.IdentityVerified):
            identity_method = event.method
        elif isinstance(event, DataRequest.Fulfilled):
            closed_at, delivery_format = event.timestamp, event.delivery_format
        elif isinstance(event, DataRequest.Rejected):
            closed_at, closing_reason = event.timestamp, event.reason
        elif isinstance(event, DataRequest.QuoteDeclined):
            closed_at, closing_reason = event.timestamp, "the quoted fee was declined"
    assert request is not None
    quote = request.quote or {}
    return (
        str(request.id), request.kind, request.channel, request.status, request.received_at,
        request.due_at, request.is_overdue(now), request.identity_verified, identity_method,
        request.extended_months, quote.get("amount_cents"), quote.get("currency"),
        request.details, closed_at, closing_reason, delivery_format, request.delivery_sha256,
    )


def _disclosures(ledger: Ledger, subject_id: UUID) -> Sheet:
    """Disclosures that name the subject. A disclosure of a whole tenant names nobody and
    is shown in that tenant's access log instead."""
    columns = ("disclosure_id", "at", "recipient", "legal_basis", "reference", "recorded_by",
               "tenant_id")
    rows: list[tuple[Cell, ...]] = [
        (str(e.originator_id), e.timestamp, e.recipient, e.legal_basis, e.reference, e.actor,
         str(e.tenant_id))
        for e in events_of(ledger, Disclosure.Recorded)
        if subject_id in e.subject_ids
    ]
    return _sheet("disclosures", "Disclosures", columns, rows)


def _accesses(ledger: Ledger, subject_id: UUID, tenant_id: UUID | None) -> Sheet:
    """Staff accesses (and refused attempts) under the subject's tenant whose resource names
    the subject, e.g. "subjects/<id>" or "subjects/<id>/orders"; and every read of the
    subject's data by the vendor's officers, with why (their reason, or the request)."""
    columns = ("at", "actor", "action", "resource", "outcome", "refusal", "access_request_id",
               "why")
    rows: list[tuple[Cell, ...]] = []
    needle = str(subject_id)
    for e in events_of(ledger, AccessRequest.AccessRecorded, AccessRequest.AccessRefused,
                       VendorRead.Recorded):
        if isinstance(e, VendorRead.Recorded):
            if e.subject_id == subject_id:
                why = e.reason if e.reason is not None else f"the subject's request {e.request_id}"
                rows.append((e.timestamp, e.actor, f"read {e.what}", f"subjects/{needle}",
                             "vendor_read", None, None, why))
            continue
        if tenant_id is None or e.tenant_id != tenant_id or needle not in e.resource.lower():
            continue
        refused = isinstance(e, AccessRequest.AccessRefused)
        rows.append((e.timestamp, e.actor, e.action, e.resource,
                     "refused" if refused else "allowed",
                     e.refusal if refused else None, str(e.originator_id), None))
    return _sheet("accesses", "Accesses", columns, rows)
