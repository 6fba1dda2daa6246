"""Subjects' requests (DESIGN.md §7): one calendar month, two more with a reason, fees quoted first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import (
    DataRequestClosed,
    DataRequestStepOutOfOrder,
    DuplicateOpenRequest,
    InvalidInput,
    SubjectErased,
)
from domain.personal import ERASED
from tests.unit.conftest import event_count

OFFICER = "officer-1"


@pytest.fixture
def subject_id(ledger: Ledger) -> UUID:
    tenant_id = ledger.open_tenant("Acme", OFFICER).aggregate.id
    return ledger.register_subject(
        "Femke de Boer", "femke@example.org", "app", tenant_id, "+31655550000"
    ).aggregate.id


def receive(ledger: Ledger, subject_id: UUID, kind: str = "access") -> UUID:
    return ledger.receive_data_request(subject_id, kind, "email", OFFICER).aggregate.id


def utc(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=timezone.utc)


# Due one calendar month after receipt
@pytest.mark.parametrize(
    "received,due",
    [
        (utc(2027, 1, 31), utc(2027, 2, 28)),
        (utc(2028, 1, 31), utc(2028, 2, 29)),
        (utc(2027, 3, 30), utc(2027, 4, 30)),
        (utc(2027, 3, 31), utc(2027, 4, 30)),
        (utc(2027, 12, 31), utc(2028, 1, 31)),
    ],
)
def test_a_request_is_due_one_calendar_month_after_it_was_received(
    ledger: Ledger, subject_id: UUID, clock: MovableClock, received: datetime, due: datetime
) -> None:
    clock.set(received)
    assert ledger.data_request(receive(ledger, subject_id)).due_at == due


# Extensions
def test_a_request_may_be_extended_by_two_more_months_with_a_reason(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    clock.set(utc(2027, 1, 31))
    request_id = receive(ledger, subject_id)
    ledger.extend_data_request(request_id, 1, "many systems to search", OFFICER)
    assert ledger.data_request(request_id).due_at == utc(2027, 3, 31)
    ledger.extend_data_request(request_id, 1, "still searching the archive", OFFICER)
    assert ledger.data_request(request_id).due_at == utc(2027, 4, 30)


def test_a_third_month_of_extension_is_refused(ledger: Ledger, subject_id: UUID) -> None:
    request_id = receive(ledger, subject_id)
    ledger.extend_data_request(request_id, 2, "complex request", OFFICER)
    before = event_count(ledger)
    with pytest.raises(InvalidInput) as refused:
        ledger.extend_data_request(request_id, 1, "one more please", OFFICER)
    assert refused.value.field == "months"
    with pytest.raises(InvalidInput):
        ledger.extend_data_request(receive(ledger, subject_id, "objection"), 3, "long", OFFICER)
    assert event_count(ledger) == before + 2, "only the new request was recorded"


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_an_extension_needs_a_reason(ledger: Ledger, subject_id: UUID, reason: str | None) -> None:
    request_id = receive(ledger, subject_id)
    with pytest.raises(InvalidInput) as refused:
        ledger.extend_data_request(request_id, 1, reason, OFFICER)  # type: ignore[arg-type]
    assert refused.value.field == "reason"
    assert ledger.data_request(request_id).extended_months == 0


# Portability with a fee
def test_a_quoted_portability_export_is_due_fourteen_days_after_acceptance(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    request_id = receive(ledger, subject_id, "portability")
    ledger.verify_identity(request_id, "passport seen", OFFICER)
    ledger.quote_data_request(request_id, 2500, "eur", OFFICER)
    clock.move(days=3)
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.fulfil_data_request(request_id, OFFICER)

    accepted = ledger.accept_quote(request_id, "subject").aggregate

    assert accepted.due_at == clock.now() + timedelta(days=14)
    assert accepted.quote == {"amount_cents": 2500, "currency": "EUR"}
    clock.move(days=10)
    fulfilled = ledger.fulfil_data_request(request_id, OFFICER, "ab" * 32, "xlsx").aggregate
    assert fulfilled.status == "fulfilled"


def test_a_declined_quote_closes_the_request(ledger: Ledger, subject_id: UUID) -> None:
    request_id = receive(ledger, subject_id, "portability")
    ledger.quote_data_request(request_id, 1000, "EUR", OFFICER)
    assert ledger.decline_quote(request_id, "subject").aggregate.status == "declined"
    with pytest.raises(DataRequestClosed):
        ledger.accept_quote(request_id, "subject")
    receive(ledger, subject_id, "portability")  # the subject may ask again


def test_only_a_portability_export_carries_a_fee(ledger: Ledger, subject_id: UUID) -> None:
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.quote_data_request(receive(ledger, subject_id, "access"), 1000, "EUR", OFFICER)


def test_a_quote_cannot_be_accepted_before_it_was_made_nor_twice(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = receive(ledger, subject_id, "portability")
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.accept_quote(request_id, "subject")
    ledger.quote_data_request(request_id, 1000, "EUR", OFFICER)
    ledger.accept_quote(request_id, "subject")
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.accept_quote(request_id, "subject")
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.quote_data_request(request_id, 2000, "EUR", OFFICER)


# Fulfilling
def test_a_request_cannot_be_fulfilled_before_the_identity_is_verified(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = receive(ledger, subject_id)
    before = event_count(ledger)
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.fulfil_data_request(request_id, OFFICER)
    assert event_count(ledger) == before


def test_fulfilling_an_erasure_request_erases_the_subject(ledger: Ledger, subject_id: UUID) -> None:
    request_id = receive(ledger, subject_id, "erasure")
    ledger.verify_identity(request_id, "signed letter", OFFICER)
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.verify_identity(request_id, "again", OFFICER)

    fulfilled = ledger.fulfil_data_request(request_id, OFFICER).aggregate

    assert fulfilled.status == "fulfilled"
    subject = ledger.subject(subject_id)
    assert subject.erased and (subject.name, subject.email, subject.phone) == (ERASED, ERASED, None)
    assert ledger.keys.get(subject_id) is None
    erased = [e for e in ledger.events.get(subject_id) if type(e).__name__ == "Erased"]
    assert len(erased) == 1 and erased[0].request_id == request_id
    with pytest.raises(DataRequestClosed):
        ledger.fulfil_data_request(request_id, OFFICER)


def test_an_erasure_request_that_cannot_be_fulfilled_leaves_the_subject_intact(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = receive(ledger, subject_id, "erasure")
    with pytest.raises(DataRequestStepOutOfOrder):
        ledger.fulfil_data_request(request_id, OFFICER)  # identity not verified
    assert ledger.subject(subject_id).name == "Femke de Boer"
    assert ledger.keys.get(subject_id) is not None


def test_an_erased_subjects_other_open_request_can_still_be_rejected_without_keeping_the_reason(
    ledger: Ledger, subject_id: UUID
) -> None:
    access = receive(ledger, subject_id, "access")
    ledger.erase_subject(subject_id, OFFICER)

    rejected = ledger.reject_data_request(access, "the subject was erased meanwhile", OFFICER)

    assert rejected.aggregate.status == "rejected"
    assert list(ledger.events.get(access))[-1].reason is None
    with pytest.raises(SubjectErased):
        receive(ledger, subject_id, "access")


def test_a_rejection_keeps_its_reason_while_the_subject_exists(ledger: Ledger, subject_id: UUID) -> None:
    request_id = receive(ledger, subject_id, "objection")
    with pytest.raises(InvalidInput) as refused:
        ledger.reject_data_request(request_id, "", OFFICER)
    assert refused.value.field == "reason"
    ledger.reject_data_request(request_id, "manifestly unfounded", OFFICER)
    assert list(ledger.events.get(request_id))[-1].reason == "manifestly unfounded"


# One open request per kind
def test_a_second_open_request_of_the_same_kind_names_the_open_one(
    ledger: Ledger, subject_id: UUID
) -> None:
    first = receive(ledger, subject_id, "access")
    before = event_count(ledger)
    with pytest.raises(DuplicateOpenRequest) as refused:
        receive(ledger, subject_id, "access")
    assert refused.value.open_request_id == first
    assert str(first) in refused.value.detail
    assert event_count(ledger) == before
    receive(ledger, subject_id, "rectification")  # another kind is fine


def test_after_closing_a_request_a_new_one_of_that_kind_is_fine(
    ledger: Ledger, subject_id: UUID
) -> None:
    first = receive(ledger, subject_id, "access")
    ledger.verify_identity(first, "email reply", OFFICER)
    ledger.fulfil_data_request(first, OFFICER)
    second = receive(ledger, subject_id, "access")
    assert second != first


# Overdue
def test_a_request_is_marked_overdue_once_after_its_deadline(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    clock.set(utc(2027, 1, 31))
    request_id = receive(ledger, subject_id)
    clock.set(utc(2027, 2, 28))
    assert ledger.mark_data_request_overdue(request_id) is None, "due today is not overdue"
    clock.move(minutes=1)

    marked = ledger.mark_data_request_overdue(request_id)

    assert marked is not None and marked.aggregate.overdue
    assert ledger.mark_data_request_overdue(request_id) is None
    events = list(ledger.events.get(request_id))
    assert [type(e).__name__ for e in events] == ["Received", "MarkedOverdue"]
    assert events[-1].due_at == utc(2027, 2, 28)
    assert events[-1].timestamp == clock.now()


def test_a_closed_request_is_never_overdue(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    request_id = receive(ledger, subject_id)
    ledger.reject_data_request(request_id, "duplicate of a letter", OFFICER)
    clock.move(days=90)
    assert ledger.mark_data_request_overdue(request_id) is None
