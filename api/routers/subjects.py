"""Subjects: registered by the vendor's systems, read by officers, auditors and their customer;
their export, consent receipts and unsubscribe links."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from pydantic import AwareDatetime

from api.http.deps import (
    CurrentLedgerDep,
    LedgerDep,
    Officer,
    OfficerOrAuditor,
    OfficerOrSystem,
    ReadDep,
    SettingsDep,
    System,
    TenantReader,
)
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, Paging, PagingDep, fetch_page
from api.http.problems import ProblemException, documented, field_problem
from api.services.dossier import build_dossier
from api.services.export_formats import render
from api.services.receipts import consent_receipt, consent_receipts, controller_from_settings
from api.services.unsubscribe import (
    list_unsubscribe_headers,
    mint_unsubscribe_url,
    unsubscribe_secret,
)
from api.routers.data_requests import DOWNLOAD, changed, export_response
from api.schemas.base import Written
from api.schemas.data_requests import DataRequestChanged, DataRequestCreate, ExportFormat
from api.services.vendor_reads import WhyDep, record_read
from api.services.visibility import (
    ensure_own_tenant,
    ensure_readable_by_customer,
    not_found,
    tenant_in_view,
)
from api.schemas.rights import ConsentReceiptOut, UnsubscribeLink
from api.schemas.subjects import (
    HistoryEvent,
    SubjectCreate,
    SubjectOut,
    SubjectPatch,
    UnsubscribeLinkCreate,
    history_item,
    subject_answer,
)
from domain.errors import NotFound, SubjectErased
from domain.vocabulary import Purpose
from domain.vocabulary import WhatWasRead

router = APIRouter(
    prefix="/v1/subjects", tags=["subjects"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
WRITE = documented(409)
READ = documented(503)


@router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE)
def register_subject(body: SubjectCreate, caller: OfficerOrSystem, ledger: LedgerDep) -> Written:
    """Register a person; name, email and phone are encrypted with their own key."""
    try:
        outcome = ledger.register_subject(
            body.name, body.email, caller.actor, tenant_id=body.tenant_id, phone=body.phone
        )
    except NotFound:
        raise field_problem("tenant_id", f"no tenant with id {body.tenant_id}") from None
    return Written(id=outcome.aggregate.id, position=outcome.position)


@router.get("", responses=READ)
def list_subjects(
    caller: TenantReader, read: ReadDep, page: PagingDep,
    tenant_id: Annotated[UUID | None, Query(description="only this tenant's subjects")] = None,
    email: Annotated[
        str | None,
        Query(max_length=254, description="only the subjects with this e-mail address "
              "(exact, after ignoring case and surrounding spaces)"),
    ] = None,
) -> Page[SubjectOut]:
    """Subjects, newest first, without consents (a customer: its own tenant's only). The
    vendor's officers and auditors see personal fields as "***" here: an officer reads them
    in the subject's own profile, saying why, and that read is logged for the tenant."""
    own = tenant_in_view(caller)
    if own is not None:
        ensure_own_tenant(caller, tenant_id or own, "tenant", tenant_id)
        ensure_readable_by_customer(caller, read, "subjects")
        tenant_id = own
    if email is not None:
        found = {"items": read.subjects_by_email(email, tenant_id=tenant_id), "next": None}
    else:
        found = fetch_page(
            page, lambda: read.subjects(tenant_id=tenant_id, after=page.after, limit=page.limit)
        )
    return Page[SubjectOut](
        items=[
            subject_answer(caller, item, masked_for_officers=True) for item in found["items"]
        ],
        next=found["next"],
    )


@router.get("/{subject_id}", responses=READ)
def get_subject(
    subject_id: UUID, caller: TenantReader, read: ReadDep, ledger: LedgerDep, why: WhyDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a zone: the subject as it stood then, from its events"),
    ] = None,
) -> SubjectOut:
    """The profile with its consents; auditors see "***" for personal fields. An officer says
    why (`request_id` or `reason`): the read is logged in the tenant's access log."""
    ensure_readable_by_customer(caller, read, "subjects")
    if as_of is None:
        profile = read.subject_profile(subject_id)
        if profile is None:
            raise not_found("subject", subject_id)
        ensure_own_tenant(caller, profile.get("tenant_id"), "subject", subject_id)
        record_read(ledger, caller, subject_id, WhatWasRead.PROFILE, why)
        return subject_answer(caller, profile)
    # The tenant check comes first: "not registered yet" must not tell another tenant's
    # customer that the id exists.
    ensure_own_tenant(caller, ledger.subject(subject_id).tenant_id, "subject", subject_id)
    past = read.subject_profile_as_of(subject_id, as_of)
    if past is None:
        raise ProblemException(
            404, f"subject {subject_id} was not registered yet at {as_of.isoformat()}"
        )
    record_read(ledger, caller, subject_id, WhatWasRead.PROFILE_AS_OF, why)
    return subject_answer(caller, past, as_of)


@router.patch("/{subject_id}", responses=WRITE)
def rectify_subject(
    subject_id: UUID, body: SubjectPatch, caller: Officer, ledger: LedgerDep
) -> Written:
    """Correct the person's name, email or phone (at least one)."""
    outcome = ledger.rectify_subject(
        subject_id, caller.actor, name=body.name, email=body.email, phone=body.phone
    )
    return Written(id=subject_id, position=outcome.position)


@router.get("/{subject_id}/history")
def subject_history(
    subject_id: UUID, caller: OfficerOrAuditor, ledger: CurrentLedgerDep, page: PagingDep,
    why: WhyDep,
) -> Page[HistoryEvent]:
    """The subject's own events in order (`after` is a version number). An officer says why
    (`request_id` or `reason`): the read is logged in the tenant's access log."""
    start = _version_after(page)
    record_read(ledger, caller, subject_id, WhatWasRead.HISTORY, why)
    items: list[dict[str, Any]] = []
    more = False
    for event in ledger.subject_events(subject_id):
        if event.originator_version <= start:
            continue
        if len(items) == page.limit:
            more = True
            break
        items.append(history_item(caller, event))
    return Page[HistoryEvent](
        items=[HistoryEvent.model_validate(i) for i in items],
        next=str(items[-1]["version"]) if more else None,
    )


@router.get("/{subject_id}/export", response_model=None, responses=DOWNLOAD)
def export_subject(
    subject_id: UUID, caller: Officer, ledger: CurrentLedgerDep, settings: SettingsDep,
    why: WhyDep,
    format: Annotated[
        ExportFormat,
        Query(description="xlsx (one sheet per kind), json, or csv (a zip of one file per kind)"),
    ] = "json",
) -> Response:
    """Everything held about the subject, read from the ledger's events at this moment:
    profile, its history, consents with their receipts, requests, disclosures and the staff
    accesses that concerned them. `X-Ledger-Position` is the last event it reflects.
    An erased subject's export keeps the record with every personal field "[erased]".
    The officer says why (`request_id` or `reason`): the export is logged in the tenant's
    access log; a terminated tenant's subjects are not exported (409)."""
    record_read(ledger, caller, subject_id, WhatWasRead.EXPORT, why)
    dossier = build_dossier(ledger, subject_id, controller=controller_from_settings(settings))
    return export_response(
        render(dossier, format), {"X-Ledger-Position": str(dossier.position)}
    )


@router.get("/{subject_id}/consent-receipts")
def list_consent_receipts(
    subject_id: UUID, caller: OfficerOrAuditor, ledger: CurrentLedgerDep,
    settings: SettingsDep, page: PagingDep,
    purpose: Annotated[Purpose | None, Query(description="only this purpose's receipts")] = None,
) -> Page[ConsentReceiptOut]:
    """A receipt (ISO/IEC TS 27560) for every consent given or withdrawn, oldest first
    (`after` is the subject's event version, as in the history)."""
    start = _version_after(page)
    receipts = [
        r for r in consent_receipts(
            ledger, subject_id, controller_from_settings(settings),
            None if purpose is None else purpose.value,
        )
        if _version(r.record_id) > start
    ]
    shown = receipts[:page.limit]
    more = len(receipts) > page.limit
    return Page[ConsentReceiptOut](
        items=[ConsentReceiptOut.model_validate(asdict(r)) for r in shown],
        next=str(_version(shown[-1].record_id)) if more else None,
    )


def _version(record_id: str) -> int:
    return int(record_id.rsplit(":", 1)[1])


def _version_after(page: Paging) -> int:
    """The subject's event version a page of its history or receipts starts after."""
    try:
        start = int(page.after) if page.after else 0
    except ValueError:
        raise field_problem("after", "is not a cursor this API gave out", "query") from None
    if not 0 <= start < 2**63:
        raise field_problem("after", "is not a cursor this API gave out", "query")
    return start


@router.get("/{subject_id}/consent-receipts/{record_id}")
def get_consent_receipt(
    subject_id: UUID, caller: OfficerOrAuditor, ledger: CurrentLedgerDep, settings: SettingsDep,
    record_id: Annotated[
        str, Path(max_length=100, description="`<subject id>:<version>` from the list")
    ],
) -> ConsentReceiptOut:
    """One consent receipt; 404 unless it is one of this subject's."""
    receipt = consent_receipt(ledger, subject_id, record_id, controller_from_settings(settings))
    return ConsentReceiptOut.model_validate(asdict(receipt))


@router.post(
    "/{subject_id}/unsubscribe-links", status_code=status.HTTP_201_CREATED, responses=WRITE
)
def unsubscribe_link(
    subject_id: UUID, body: UnsubscribeLinkCreate, caller: System, ledger: LedgerDep,
    settings: SettingsDep,
) -> UnsubscribeLink:
    """A link that withdraws this consent without logging in (RFC 8058 one-click), for the
    mail's `List-Unsubscribe` headers. Minting records nothing; using it does. 409 once the
    subject is erased (or their tenant purged): there is nobody left to write to."""
    subject = ledger.subject(subject_id)
    if subject.erased or ledger.keys.get(subject_id) is None:
        raise SubjectErased()
    purpose = body.purpose.value
    channel = None if body.channel is None else body.channel.value
    secret = unsubscribe_secret(ledger.keys)
    url = mint_unsubscribe_url(settings, secret, subject_id, purpose, channel)
    return UnsubscribeLink(
        url=url, subject_id=subject_id, purpose=purpose, channel=channel,
        headers=list_unsubscribe_headers(url),
    )


@router.post("/{subject_id}/requests", status_code=status.HTTP_201_CREATED, responses=WRITE)
def receive_request(
    subject_id: UUID, body: DataRequestCreate, caller: OfficerOrSystem, ledger: LedgerDep
) -> DataRequestChanged:
    """Record a subject's request; it is due one calendar month after receipt
    (`received_at`, when it arrived before it is entered: at most a year ago)."""
    return changed(ledger, ledger.receive_data_request(
        subject_id, body.kind, body.channel, caller.actor, body.details, body.received_at
    ))
