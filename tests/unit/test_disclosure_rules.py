"""Disclosures (DESIGN.md §1): to third parties only at the customer's request, by law or court order."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import InvalidInput, NotFound
from tests.unit.conftest import event_count

OFFICER = "officer-1"


@pytest.fixture
def tenant_id(ledger: Ledger) -> UUID:
    return ledger.open_tenant("Acme", OFFICER).aggregate.id


@pytest.mark.parametrize("basis", ["customer_request", "legal_obligation", "court_order"])
def test_a_disclosure_on_each_lawful_basis_is_recorded(
    ledger: Ledger, tenant_id: UUID, basis: str, clock: MovableClock
) -> None:
    disclosure = ledger.record_disclosure(
        tenant_id, "Belastingdienst", basis, "ref 2027/17", OFFICER
    ).aggregate
    assert (disclosure.tenant_id, disclosure.legal_basis) == (tenant_id, basis)
    assert ledger.disclosure(disclosure.id).recipient == "Belastingdienst"
    assert disclosure.created_on == clock.now()


@pytest.mark.parametrize("basis", ["curiosity", "marketing", "", "COURT_ORDER"])
def test_no_disclosure_without_a_lawful_basis(ledger: Ledger, tenant_id: UUID, basis: str) -> None:
    before = event_count(ledger)
    with pytest.raises(InvalidInput) as refused:
        ledger.record_disclosure(tenant_id, "Data broker", basis, "x", OFFICER)
    assert refused.value.field == "legal_basis"
    assert event_count(ledger) == before


def test_a_disclosure_needs_a_recipient_and_a_reference(ledger: Ledger, tenant_id: UUID) -> None:
    with pytest.raises(InvalidInput) as refused:
        ledger.record_disclosure(tenant_id, "", "court_order", "ref", OFFICER)
    assert refused.value.field == "recipient"
    with pytest.raises(InvalidInput) as refused:
        ledger.record_disclosure(tenant_id, "Court of Amsterdam", "court_order", " ", OFFICER)
    assert refused.value.field == "reference"


def test_a_disclosure_about_an_unknown_tenant_is_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.record_disclosure(uuid4(), "Police", "court_order", "ref", OFFICER)


def test_the_subjects_disclosed_must_belong_to_the_tenant(ledger: Ledger, tenant_id: UUID) -> None:
    ours = ledger.register_subject("Ann", "ann@example.org", "app", tenant_id).aggregate.id
    other_tenant = ledger.open_tenant("Other", OFFICER).aggregate.id
    theirs = ledger.register_subject("Bo", "bo@example.org", "app", other_tenant).aggregate.id
    before = event_count(ledger)
    for wrong in ([theirs], [uuid4()], ["not-an-id"]):
        with pytest.raises(InvalidInput) as refused:
            ledger.record_disclosure(tenant_id, "Police", "court_order", "ref", OFFICER,
                                     subject_ids=wrong)  # type: ignore[arg-type]
        assert refused.value.field == "subject_ids"
    assert event_count(ledger) == before
    disclosure = ledger.record_disclosure(
        tenant_id, "Police", "court_order", "ref", OFFICER, subject_ids=[ours, ours]
    ).aggregate
    assert disclosure.subject_ids == [ours]
