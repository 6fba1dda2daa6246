"""Security incidents (DESIGN.md §1, §7): customers told without delay, the authority within 72 hours."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import IncidentStepOutOfOrder, InvalidInput, NotFound
from tests.unit.conftest import event_count

OFFICER = "officer-1"


@pytest.fixture
def tenant_id(ledger: Ledger) -> UUID:
    return ledger.open_tenant("Acme", OFFICER).aggregate.id


def report(ledger: Ledger, tenant_ids: list[UUID], **kwargs: object) -> UUID:
    return ledger.report_incident(
        "Laptop stolen", "An unencrypted laptop was stolen from a car", "high", tenant_ids,
        OFFICER, **kwargs,  # type: ignore[arg-type]
    ).aggregate.id


def test_the_authority_is_due_72_hours_after_the_vendor_became_aware(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    aware = clock.now() - timedelta(hours=5)
    incident = ledger.incident(report(ledger, [tenant_id], aware_at=aware))
    assert incident.aware_at == aware
    assert incident.authority_due_at == aware + timedelta(hours=72)


def test_awareness_defaults_to_the_moment_of_reporting(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    incident = ledger.incident(report(ledger, [tenant_id]))
    assert incident.authority_due_at == clock.now() + timedelta(hours=72)


def test_an_incident_is_marked_overdue_after_72_hours_and_only_once(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    incident_id = report(ledger, [tenant_id])
    clock.move(hours=72)
    assert ledger.mark_incident_overdue(incident_id) is None, "at 72 hours it is just in time"
    clock.move(minutes=1)

    marked = ledger.mark_incident_overdue(incident_id)

    assert marked is not None and marked.aggregate.overdue
    assert ledger.mark_incident_overdue(incident_id) is None
    overdue = list(ledger.events.get(incident_id))[-1]
    assert overdue.timestamp == clock.now(), "stamped when noticed, never back in time"


def test_a_notified_incident_is_never_marked_overdue(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    incident_id = report(ledger, [tenant_id])
    clock.move(hours=70)
    ledger.notify_authority_of_incident(incident_id, "AP-2027-0012", OFFICER)
    clock.move(hours=10)
    assert ledger.mark_incident_overdue(incident_id) is None


def test_the_authority_cannot_be_notified_twice(ledger: Ledger, tenant_id: UUID) -> None:
    incident_id = report(ledger, [tenant_id])
    ledger.notify_authority_of_incident(incident_id, "AP-1", OFFICER)
    before = event_count(ledger)
    with pytest.raises(IncidentStepOutOfOrder):
        ledger.notify_authority_of_incident(incident_id, "AP-2", OFFICER)
    assert event_count(ledger) == before


def test_each_affected_customer_is_notified_once(ledger: Ledger, tenant_id: UUID) -> None:
    other = ledger.open_tenant("Other", OFFICER).aggregate.id
    unaffected = ledger.open_tenant("Unaffected", OFFICER).aggregate.id
    incident_id = report(ledger, [tenant_id, other])
    ledger.notify_customer_of_incident(incident_id, tenant_id, OFFICER)
    with pytest.raises(IncidentStepOutOfOrder):
        ledger.notify_customer_of_incident(incident_id, tenant_id, OFFICER)
    with pytest.raises(InvalidInput) as refused:
        ledger.notify_customer_of_incident(incident_id, unaffected, OFFICER)
    assert refused.value.field == "tenant_id"
    ledger.notify_customer_of_incident(incident_id, other, OFFICER)
    assert set(ledger.incident(incident_id).customers_notified) == {tenant_id, other}


def test_awareness_cannot_lie_in_the_future(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    with pytest.raises(InvalidInput) as refused:
        report(ledger, [tenant_id], aware_at=clock.now() + timedelta(minutes=1))
    assert refused.value.field == "aware_at"


def test_an_incident_naming_an_unknown_tenant_is_not_recorded(ledger: Ledger) -> None:
    before = event_count(ledger)
    with pytest.raises(NotFound):
        report(ledger, [uuid4()])
    assert event_count(ledger) == before
