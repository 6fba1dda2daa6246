"""Tenants (DESIGN.md §1, §7): terminated → reactivation possible for 60 days → purged; data in the EU."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import (
    ExceptionalLocationNeedsReason,
    GracePeriodOver,
    LocationOutsideEU,
    PurgeTooEarly,
    StateConflict,
    SubjectErased,
    TenantNotActive,
    TenantNotTerminated,
    TenantPurged,
)
from domain.ledger.keys import KeyShredded
from domain.personal import ERASED
from tests.unit.conftest import event_count

OFFICER = "officer-1"


@pytest.fixture
def tenant_id(ledger: Ledger) -> UUID:
    return ledger.open_tenant("Bakkerij De Vries", OFFICER).aggregate.id


def test_a_new_tenant_is_active_and_its_data_lives_in_the_netherlands(
    ledger: Ledger, tenant_id: UUID
) -> None:
    tenant = ledger.tenant(tenant_id)
    assert (tenant.status, tenant.location, tenant.name) == ("active", "NL", "Bakkerij De Vries")


def test_a_tenant_can_come_back_on_day_59(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=59)
    tenant = ledger.reactivate_tenant(tenant_id, OFFICER).aggregate
    assert tenant.status == "active" and tenant.purge_after is None


def test_a_terminated_tenant_is_kept_sixty_days(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    terminated = ledger.terminate_tenant(tenant_id, OFFICER).aggregate
    assert (terminated.purge_after - clock.now()).days == 60


def test_a_tenant_cannot_come_back_after_day_60(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=60, seconds=1)
    before = event_count(ledger)
    with pytest.raises(GracePeriodOver):
        ledger.reactivate_tenant(tenant_id, OFFICER)
    assert event_count(ledger) == before


def test_a_tenant_cannot_be_purged_before_its_sixty_days_are_over(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    subject_id = ledger.register_subject("Ann", "ann@example.org", "app", tenant_id).aggregate.id
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=59, hours=23)
    with pytest.raises(PurgeTooEarly):
        ledger.purge_tenant(tenant_id, OFFICER)
    assert ledger.subject(subject_id).name == "Ann", "nothing was shredded"
    assert ledger.tenant(tenant_id).name == "Bakkerij De Vries"


def test_an_active_tenant_cannot_be_purged(ledger: Ledger, tenant_id: UUID) -> None:
    with pytest.raises(TenantNotTerminated):
        ledger.purge_tenant(tenant_id, OFFICER)


def test_purging_shreds_the_tenants_key_and_those_of_all_its_subjects(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    ann = ledger.register_subject("Ann", "ann@example.org", "app", tenant_id, "+31610000001").aggregate.id
    cas = ledger.register_subject("Cas", "cas@example.org", "app", tenant_id).aggregate.id
    elsewhere = ledger.open_tenant("Other", OFFICER).aggregate.id
    dirk = ledger.register_subject("Dirk", "dirk@example.org", "app", elsewhere).aggregate.id
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=61)

    purged = ledger.purge_tenant(tenant_id, OFFICER).aggregate

    assert purged.status == "purged"
    assert ledger.tenant(tenant_id).name == ERASED
    for subject_id in (ann, cas):
        subject = ledger.subject(subject_id)
        assert (subject.name, subject.email) == (ERASED, ERASED)
        assert ledger.keys.get(subject_id) is None
    assert ledger.subject(dirk).name == "Dirk", "another tenant's subjects are untouched"
    with pytest.raises(KeyShredded):
        ledger.keys.create(ann)


def test_nothing_brings_a_purged_tenant_back(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=61)
    ledger.purge_tenant(tenant_id, OFFICER)
    before = event_count(ledger)
    for command in (ledger.reactivate_tenant, ledger.terminate_tenant, ledger.purge_tenant):
        with pytest.raises(TenantPurged):
            command(tenant_id, OFFICER)
    with pytest.raises(TenantPurged):
        ledger.move_tenant_location(tenant_id, "IE", None, OFFICER)
    with pytest.raises(TenantNotActive):
        ledger.register_subject("New", "new@example.org", "app", tenant_id)
    assert event_count(ledger) == before


def test_a_purged_tenants_subjects_take_no_new_consent(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    subject_id = ledger.register_subject("Ann", "ann@example.org", "app", tenant_id).aggregate.id
    ledger.terminate_tenant(tenant_id, OFFICER)
    clock.move(days=61)
    ledger.purge_tenant(tenant_id, OFFICER)
    with pytest.raises(SubjectErased):
        ledger.give_consent(subject_id, "info_mail", "web_form", "v1", "app")
    with pytest.raises(SubjectErased):
        ledger.withdraw_consent(subject_id, "info_mail", "unsubscribe_link", "app")
    with pytest.raises(SubjectErased):
        ledger.receive_data_request(subject_id, "access", "email", OFFICER)


def test_terminating_twice_is_a_conflict(ledger: Ledger, tenant_id: UUID) -> None:
    ledger.terminate_tenant(tenant_id, OFFICER)
    with pytest.raises(StateConflict):
        ledger.terminate_tenant(tenant_id, OFFICER)


def test_an_active_tenant_cannot_be_reactivated(ledger: Ledger, tenant_id: UUID) -> None:
    with pytest.raises(TenantNotTerminated):
        ledger.reactivate_tenant(tenant_id, OFFICER)


# Data stays in the EU
@pytest.mark.parametrize("where", ["US", "GB", "CH", "XX"])
def test_data_cannot_move_outside_the_eu(ledger: Ledger, tenant_id: UUID, where: str) -> None:
    before = event_count(ledger)
    with pytest.raises(LocationOutsideEU) as refused:
        ledger.move_tenant_location(tenant_id, where, "cheaper", OFFICER)
    assert refused.value.field == "location"
    assert event_count(ledger) == before


def test_data_moves_to_ireland_and_back_without_a_reason(ledger: Ledger, tenant_id: UUID) -> None:
    ledger.move_tenant_location(tenant_id, "IE", None, OFFICER)
    tenant = ledger.move_tenant_location(tenant_id, "nl", None, OFFICER).aggregate
    assert tenant.location == "NL"
    assert [entry["location"] for entry in tenant.locations] == ["NL", "IE", "NL"]


def test_data_moves_elsewhere_in_the_eu_only_with_a_reason(ledger: Ledger, tenant_id: UUID) -> None:
    with pytest.raises(ExceptionalLocationNeedsReason) as refused:
        ledger.move_tenant_location(tenant_id, "DE", None, OFFICER)
    assert refused.value.field == "reason"
    with pytest.raises(ExceptionalLocationNeedsReason):
        ledger.move_tenant_location(tenant_id, "DE", "   ", OFFICER)
    tenant = ledger.move_tenant_location(
        tenant_id, "DE", "customer contract requires Frankfurt", OFFICER
    ).aggregate
    assert tenant.location == "DE"


def test_every_move_is_recorded_with_where_from_where_to_and_why(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    ledger.move_tenant_location(tenant_id, "IE", None, OFFICER)
    clock.move(days=1)
    ledger.move_tenant_location(tenant_id, "DE", "court order", OFFICER)
    moves = [e for e in ledger.events.get(tenant_id) if type(e).__name__ == "LocationMoved"]
    assert [(m.from_location, m.to_location, m.reason, m.exceptional) for m in moves] == [
        ("NL", "IE", None, False), ("IE", "DE", "court order", True),
    ]


def test_moving_to_where_the_data_already_is_is_a_conflict(ledger: Ledger, tenant_id: UUID) -> None:
    with pytest.raises(StateConflict):
        ledger.move_tenant_location(tenant_id, "NL", None, OFFICER)


def test_a_new_tenant_starts_in_nl_or_ie_only(ledger: Ledger) -> None:
    assert ledger.open_tenant("Irish Ltd", OFFICER, location="IE").aggregate.location == "IE"
    with pytest.raises(ExceptionalLocationNeedsReason):
        ledger.open_tenant("German GmbH", OFFICER, location="DE")
    with pytest.raises(LocationOutsideEU):
        ledger.open_tenant("US Inc", OFFICER, location="US")
