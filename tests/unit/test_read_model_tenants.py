"""The tenants read model, handler by handler, in memory: what a reader of a tenant sees after
each of its events."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.deadlines import TENANT_GRACE_PERIOD
from domain.tenant import Tenant
from projections.read_models.tables import TENANT_LOCATIONS, TENANTS
from projections.read_models.tenants import Tenants
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
OFFICER = "officer-1"


def opened() -> tuple[InMemoryReadModel, Tenant]:
    model = InMemoryReadModel(Tenants)
    tenant = Tenant.open("Acme B.V.", None, OFFICER, NOW)
    model.keys.create(tenant.id)
    model.apply(tenant)
    return model, tenant


def test_a_new_tenant_is_active_in_the_netherlands_under_its_name() -> None:
    model, tenant = opened()

    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert (row["name"], row["status"], row["location"]) == ("Acme B.V.", "active", "NL")
    assert row["created_at"] == row["updated_at"] == NOW
    assert row["purge_after"] is None and row["purge_final_at"] is None
    assert row["tenancy"] == 0
    assert [(r["location"], r["since"], r["reason"], r["actor"])
            for r in model.rows_where(TENANT_LOCATIONS, tenant_id=tenant.id)] == [
        ("NL", NOW, None, OFFICER)
    ]


def test_the_name_is_kept_sealed_with_the_tenants_key() -> None:
    model, tenant = opened()

    stored = model.rows.rows_of(TENANTS)[(str(tenant.id),)]
    assert stored["name"] != "Acme B.V."
    model.keys.shred(tenant.id)
    assert model.row(TENANTS, tenant.id)["name"] == "[erased]"  # type: ignore[index]


def test_a_terminated_tenant_shows_when_it_will_be_purged_and_ends_its_tenancy() -> None:
    model, tenant = opened()
    later = NOW + timedelta(days=3)
    tenant.terminate(OFFICER, later)
    model.apply(tenant)

    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert row["status"] == "terminated"
    assert row["purge_after"] == later + TENANT_GRACE_PERIOD
    assert row["updated_at"] == later
    assert row["tenancy"] == 1


def test_a_reactivated_tenant_is_active_again_with_no_purge_ahead() -> None:
    model, tenant = opened()
    tenant.terminate(OFFICER, NOW + timedelta(days=1))
    tenant.reactivate(OFFICER, NOW + timedelta(days=2))
    tenant.terminate(OFFICER, NOW + timedelta(days=3))
    tenant.reactivate(OFFICER, NOW + timedelta(days=4))
    model.apply(tenant)

    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert (row["status"], row["purge_after"]) == ("active", None)
    assert row["tenancy"] == 2  # each termination ended a tenancy
    assert row["updated_at"] == NOW + timedelta(days=4)


def test_a_purged_tenant_keeps_no_name_and_later_shows_when_the_purge_became_final() -> None:
    model, tenant = opened()
    tenant.terminate(OFFICER, NOW)
    purged_at = NOW + TENANT_GRACE_PERIOD + timedelta(seconds=1)
    tenant.purge(OFFICER, purged_at)
    model.apply(tenant)

    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert row["status"] == "purged"
    assert model.rows.rows_of(TENANTS)[(str(tenant.id),)]["name"] is None
    assert row["purge_final_at"] is None

    final_at = purged_at + timedelta(days=30)
    tenant.record_purge_final(final_at, last_key_epoch=3)
    model.apply(tenant)
    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert row["purge_final_at"] == row["updated_at"] == final_at


def test_a_move_changes_the_location_and_adds_the_reason_to_its_history() -> None:
    model, tenant = opened()
    tenant.move_location("IE", "failover drill", "ops-2", NOW + timedelta(hours=1))
    tenant.move_location("DE", "customer's request", "ops-2", NOW + timedelta(hours=2))
    model.apply(tenant)

    row = model.row(TENANTS, tenant.id)
    assert row is not None
    assert (row["location"], row["updated_at"]) == ("DE", NOW + timedelta(hours=2))
    assert [(r["location"], r["reason"], r["actor"])
            for r in model.rows_where(TENANT_LOCATIONS, tenant_id=tenant.id)] == [
        ("NL", None, OFFICER), ("IE", "failover drill", "ops-2"),
        ("DE", "customer's request", "ops-2"),
    ]
