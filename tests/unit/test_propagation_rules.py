"""Propagation to the vendor's systems (DESIGN.md §7, issue 16): an erasure or rectification is
told to the systems it concerns once the requester is verified, and is fulfilled only when each
has confirmed or an officer waived the rest with a reason; a consent change is confirmed once."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.clock import MovableClock
from domain.errors import (
    DataRequestClosed,
    DataRequestStepOutOfOrder,
    InvalidInput,
    NotFound,
    SubjectErased,
)
from domain.ledger import Ledger
from domain.propagation import DownstreamSystem, PropagationSettled, concerned
from tests.unit.conftest import event_count

OFFICER = "olga"
CRM = DownstreamSystem.define(uuid4(), "CRM", ["info_mail"], ["erasure", "rectification"])
MAIL = DownstreamSystem.define(uuid4(), "Mail", ["product_mail"], ["erasure"])
ANALYTICS = DownstreamSystem.define(uuid4(), "Analytics", ["analytics_cookies"], [])
SYSTEMS = (CRM, MAIL, ANALYTICS)


@pytest.fixture
def subject_id(ledger: Ledger) -> UUID:
    return ledger.register_subject("Femke de Boer", "femke@example.org", "app").aggregate.id


def verified(ledger: Ledger, subject_id: UUID, kind: str = "erasure") -> UUID:
    request_id = ledger.receive_data_request(subject_id, kind, "email", OFFICER).aggregate.id
    ledger.verify_identity(request_id, "passport", OFFICER, SYSTEMS)
    return request_id


def statuses(ledger: Ledger, request_id: UUID) -> dict[str, str]:
    return {
        state["name"]: state["status"]
        for state in ledger.data_request(request_id).propagation.values()
    }


def test_only_erasure_and_rectification_are_propagated_to_systems() -> None:
    with pytest.raises(InvalidInput) as refused:
        DownstreamSystem.define(uuid4(), "Shop", [], ["access"])
    assert refused.value.field == "kinds"
    with pytest.raises(InvalidInput) as refused:
        DownstreamSystem.define(uuid4(), "Shop", ["spam"], [])
    assert refused.value.field == "purpose"
    assert [s.name for s in concerned(SYSTEMS, "erasure")] == ["CRM", "Mail"]
    assert [s.name for s in concerned(SYSTEMS, "rectification")] == ["CRM"]
    assert concerned(SYSTEMS, "access") == []
    assert CRM.concerns_consent("info_mail") and not CRM.concerns_consent("analytics_cookies")


def test_nothing_is_propagated_before_the_requesters_identity_is_verified(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = ledger.receive_data_request(subject_id, "erasure", "email", OFFICER).aggregate.id
    assert ledger.data_request(request_id).propagation == {}

    ledger.verify_identity(request_id, "passport", OFFICER, SYSTEMS)

    assert statuses(ledger, request_id) == {"CRM": "pending", "Mail": "pending"}


def test_an_erasure_is_fulfilled_only_after_both_systems_confirm(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = verified(ledger, subject_id)

    with pytest.raises(DataRequestStepOutOfOrder, match="waiting for CRM, Mail to confirm"):
        ledger.fulfil_data_request(request_id, OFFICER)
    assert ledger.keys.get(subject_id) is not None, "the key survives a refused fulfilment"

    ledger.confirm_request_propagation(request_id, CRM.id, "crm")
    with pytest.raises(DataRequestStepOutOfOrder, match="waiting for Mail to confirm"):
        ledger.fulfil_data_request(request_id, OFFICER)
    ledger.confirm_request_propagation(request_id, MAIL.id, "mail")

    assert ledger.fulfil_data_request(request_id, OFFICER).aggregate.status == "fulfilled"
    assert ledger.subject(subject_id).erased


def test_a_second_confirmation_records_nothing(ledger: Ledger, subject_id: UUID) -> None:
    request_id = verified(ledger, subject_id)
    assert ledger.confirm_request_propagation(request_id, CRM.id, "crm") is not None
    before = event_count(ledger)

    assert ledger.confirm_request_propagation(request_id, CRM.id, "crm") is None
    assert event_count(ledger) == before


def test_a_system_that_failed_may_still_confirm(ledger: Ledger, subject_id: UUID) -> None:
    request_id = verified(ledger, subject_id, "rectification")
    ledger.report_propagation_failure(request_id, CRM.id, "record locked", "crm")
    state = ledger.data_request(request_id).propagation[CRM.id]
    assert (state["status"], state["reason"]) == ("failed", "record locked")
    with pytest.raises(DataRequestStepOutOfOrder, match="waiting for CRM"):
        ledger.fulfil_data_request(request_id, OFFICER)

    ledger.confirm_request_propagation(request_id, CRM.id, "crm")

    assert statuses(ledger, request_id) == {"CRM": "confirmed"}
    assert ledger.fulfil_data_request(request_id, OFFICER).aggregate.status == "fulfilled"


def test_a_failure_is_not_recorded_over_a_confirmation(ledger: Ledger, subject_id: UUID) -> None:
    request_id = verified(ledger, subject_id)
    ledger.confirm_request_propagation(request_id, CRM.id, "crm")

    with pytest.raises(PropagationSettled, match="CRM is confirmed"):
        ledger.report_propagation_failure(request_id, CRM.id, "oops", "crm")


def test_an_officer_waives_what_will_not_be_confirmed_and_the_erasure_goes_ahead(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = verified(ledger, subject_id)
    ledger.confirm_request_propagation(request_id, CRM.id, "crm")
    with pytest.raises(InvalidInput) as refused:
        ledger.waive_propagation(request_id, " ", OFFICER)
    assert refused.value.field == "reason"

    ledger.waive_propagation(request_id, "the mail system was decommissioned", OFFICER)

    state = ledger.data_request(request_id).propagation[MAIL.id]
    assert (state["status"], state["reason"]) == ("waived", "the mail system was decommissioned")
    assert statuses(ledger, request_id)["CRM"] == "confirmed"
    with pytest.raises(DataRequestStepOutOfOrder, match="nothing to waive"):
        ledger.waive_propagation(request_id, "again", OFFICER)
    ledger.fulfil_data_request(request_id, OFFICER)
    with pytest.raises(DataRequestClosed):
        ledger.waive_propagation(request_id, "too late", OFFICER)


def test_a_request_without_propagation_has_nothing_to_waive(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = verified(ledger, subject_id, "access")
    assert ledger.data_request(request_id).propagation == {}
    with pytest.raises(DataRequestStepOutOfOrder, match="no propagation"):
        ledger.waive_propagation(request_id, "why not", OFFICER)


def test_after_the_erasure_a_late_confirmation_is_recorded_and_a_failure_refused(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = verified(ledger, subject_id)
    ledger.confirm_request_propagation(request_id, CRM.id, "crm")
    ledger.waive_propagation(request_id, "mail is slow; the deadline is near", OFFICER)
    ledger.fulfil_data_request(request_id, OFFICER)
    assert ledger.keys.get(subject_id) is None

    assert ledger.confirm_request_propagation(request_id, MAIL.id, "mail") is not None
    assert statuses(ledger, request_id)["Mail"] == "confirmed"
    with pytest.raises(SubjectErased):
        ledger.report_propagation_failure(request_id, CRM.id, "gone", "crm")


def test_a_system_the_request_was_not_propagated_to_confirms_nothing(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = verified(ledger, subject_id, "rectification")
    with pytest.raises(NotFound):
        ledger.confirm_request_propagation(request_id, MAIL.id, "mail")


def test_a_request_verified_without_registered_systems_waits_for_none(
    ledger: Ledger, subject_id: UUID
) -> None:
    request_id = ledger.receive_data_request(subject_id, "erasure", "email", OFFICER).aggregate.id
    ledger.verify_identity(request_id, "passport", OFFICER)

    assert ledger.fulfil_data_request(request_id, OFFICER).aggregate.status == "fulfilled"


def test_a_request_waiting_for_a_system_becomes_overdue_on_its_own_clock(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    request_id = verified(ledger, subject_id)
    ledger.confirm_request_propagation(request_id, CRM.id, "crm")
    clock.move(days=32)

    assert ledger.mark_data_request_overdue(request_id) is not None
    request = ledger.data_request(request_id)
    assert request.is_overdue(clock.now()) and request.waiting_for() == [MAIL.id]


def test_a_consent_change_is_confirmed_once_and_never_for_an_erased_subject(
    ledger: Ledger, subject_id: UUID
) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "2026-01", "app")
    assert ledger.confirm_consent_propagation(subject_id, CRM.id, "msg_1", "crm") is not None
    before = event_count(ledger)
    assert ledger.confirm_consent_propagation(subject_id, CRM.id, "msg_1", "crm") is None
    assert event_count(ledger) == before
    assert "msg_1" in ledger.subject(subject_id).confirmed_propagations

    ledger.erase_subject(subject_id, OFFICER)

    with pytest.raises(SubjectErased):
        ledger.confirm_consent_propagation(subject_id, CRM.id, "msg_2", "crm")
    assert ledger.subject(subject_id).erased
