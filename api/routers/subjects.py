"""Subjects: registered by the vendor's systems, read by officers, auditors and their customer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime

from api.auth import Caller, Role
from api.dependencies import (
    CurrentLedgerDep,
    LedgerDep,
    Officer,
    OfficerOrAuditor,
    OfficerOrSystem,
    ReadDep,
    System,
    allow,
    ensure_own_tenant,
    not_found,
)
from api.idempotency import IdempotentRoute
from api.paging import Page, PagingDep, fetch_page
from api.problems import ProblemException, documented, field_problem
from api.routers.data_requests import changed
from api.schemas.common import Written
from api.schemas.data_requests import DataRequestChanged, DataRequestCreate
from api.schemas.masking import PERSONAL_FIELDS, for_caller
from api.schemas.subjects import (
    HistoryEvent,
    SubjectCreate,
    SubjectOut,
    SubjectPatch,
    UnsubscribeLinkCreate,
)
from domain.errors import NotFound

router = APIRouter(
    prefix="/v1/subjects", tags=["subjects"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
WRITE = documented(409)
READ = documented(503)
SubjectReader = Annotated[Caller, Depends(allow(Role.OFFICER, Role.AUDITOR, Role.CUSTOMER))]
SUBJECTS_RIGHTS_ISSUE = (
    "comes with the subjects' rights issue (export as xlsx/json/csv, unsubscribe links); "
    "not built yet"
)


def answer(caller: Caller, profile: dict[str, Any], as_of: datetime | None = None) -> SubjectOut:
    if profile.get("erased"):
        # No personal field at all, not even "[erased]": the person is gone from this view.
        return SubjectOut(id=profile["id"], tenant_id=profile.get("tenant_id"), erased=True, as_of=as_of)
    return SubjectOut.model_validate({**for_caller(caller, profile), "as_of": as_of})


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
    caller: SubjectReader, read: ReadDep, page: PagingDep,
    tenant_id: Annotated[UUID | None, Query(description="only this tenant's subjects")] = None,
) -> Page[SubjectOut]:
    """Subjects, newest first, without consents (a customer: its own tenant's only)."""
    if caller.role is Role.CUSTOMER:
        ensure_own_tenant(caller, tenant_id or caller.tenant, "tenant", tenant_id)
        tenant_id = caller.tenant
    found = fetch_page(page, lambda: read.subjects(tenant_id=tenant_id, after=page.after, limit=page.limit))
    return Page[SubjectOut](
        items=[answer(caller, item) for item in found["items"]], next=found["next"]
    )


@router.get("/{subject_id}", responses=READ)
def get_subject(
    subject_id: UUID, caller: SubjectReader, read: ReadDep, ledger: LedgerDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="ISO 8601 with a zone: the subject as it stood then, from its events"),
    ] = None,
) -> SubjectOut:
    """The profile with its consents; auditors see "***" for personal fields."""
    if as_of is None:
        profile = read.subject_profile(subject_id)
        if profile is None:
            raise not_found("subject", subject_id)
        ensure_own_tenant(caller, profile.get("tenant_id"), "subject", subject_id)
        return answer(caller, profile)
    # The tenant check comes first: "not registered yet" must not tell another tenant's
    # customer that the id exists.
    ensure_own_tenant(caller, ledger.subject(subject_id).tenant_id, "subject", subject_id)
    past = read.subject_profile_as_of(subject_id, as_of)
    if past is None:
        raise ProblemException(
            404, f"subject {subject_id} was not registered yet at {as_of.isoformat()}"
        )
    return answer(caller, past, as_of)


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
    subject_id: UUID, caller: OfficerOrAuditor, ledger: CurrentLedgerDep, page: PagingDep
) -> Page[HistoryEvent]:
    """The subject's own events in order (`after` is a version number)."""
    try:
        start = int(page.after) if page.after else 0
    except ValueError:
        raise field_problem("after", "is not a cursor this API gave out", "query") from None
    items: list[dict[str, Any]] = []
    more = False
    for event in ledger.subject_events(subject_id):
        if event.originator_version <= start:
            continue
        if len(items) == page.limit:
            more = True
            break
        items.append(_history_item(caller, event))
    return Page[HistoryEvent](
        items=[HistoryEvent.model_validate(i) for i in items],
        next=str(items[-1]["version"]) if more else None,
    )


def _history_item(caller: Caller, event: Any) -> dict[str, Any]:
    hidden = {"originator_id", "originator_version", "timestamp"}
    data = {k: _plain(v) for k, v in vars(event).items() if k not in hidden}
    personal = PERSONAL_FIELDS | frozenset(getattr(type(event), "personal_fields", ()))
    return {
        "version": event.originator_version,
        "event": type(event).__name__,
        "at": event.timestamp,
        "data": for_caller(caller, data, personal),
    }


def _plain(value: Any) -> Any:
    """Event fields as JSON: ids and times as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


@router.get(
    "/{subject_id}/export", responses=documented(501),
    response_description="(not built yet: 501)",
)
def export_subject(
    subject_id: UUID, caller: Officer,
    format: Annotated[str, Query(pattern="^(xlsx|json|csv)$")] = "json",
) -> None:
    """Everything held about the subject (comes with the subjects' rights issue)."""
    raise ProblemException(501, f"the export {SUBJECTS_RIGHTS_ISSUE}")


@router.post(
    "/{subject_id}/unsubscribe-links", responses=documented(501),
    response_description="(not built yet: 501)",
)
def unsubscribe_link(subject_id: UUID, body: UnsubscribeLinkCreate, caller: System) -> None:
    """A link that withdraws consent without logging in (comes with the subjects' rights issue)."""
    raise ProblemException(501, f"unsubscribe links {SUBJECTS_RIGHTS_ISSUE}")


@router.post("/{subject_id}/requests", status_code=status.HTTP_201_CREATED, responses=WRITE)
def receive_request(
    subject_id: UUID, body: DataRequestCreate, caller: OfficerOrSystem, ledger: LedgerDep
) -> DataRequestChanged:
    """Record a subject's request; it is due one calendar month after receipt."""
    return changed(
        ledger.receive_data_request(subject_id, body.kind, body.channel, caller.actor, body.details)
    )
