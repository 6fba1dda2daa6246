"""The incidents read model, handler by handler, in memory: the 72-hour clock, and which
affected customer was told when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from domain.deadlines import AUTHORITY_NOTICE
from domain.incident import Incident
from projections.read_models.incidents import Incidents
from projections.read_models.tables import INCIDENT_TENANTS, INCIDENTS
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
AWARE = NOW - timedelta(hours=2)


def reported() -> tuple[InMemoryReadModel, Incident, list[str]]:
    model = InMemoryReadModel(lambda sealer: Incidents())
    tenants = [uuid4(), uuid4()]
    incident = Incident.report(
        "Leaked backup", "A backup was readable for an hour.", "high", tenants, "ciso-cy", NOW,
        aware_at=AWARE,
    )
    model.apply(incident)
    return model, incident, [str(t) for t in tenants]


def notified(model: InMemoryReadModel, incident: Incident) -> dict[str, object]:
    return {
        row["tenant_id"]: (row["notified_at"], row["notified_by"])
        for row in model.rows_where(INCIDENT_TENANTS, incident_id=incident.id)
    }


def test_a_reported_incident_shows_its_72_hour_deadline_and_the_affected_tenants() -> None:
    model, incident, tenants = reported()

    row = model.row(INCIDENTS, incident.id)
    assert row is not None
    assert (row["title"], row["description"], row["severity"]) == (
        "Leaked backup", "A backup was readable for an hour.", "high")
    assert (row["aware_at"], row["authority_due_at"]) == (AWARE, AWARE + AUTHORITY_NOTICE)
    assert (row["reported_at"], row["actor"]) == (NOW, "ciso-cy")
    assert row["authority_notified_at"] is None and row["overdue"] == 0
    assert notified(model, incident) == {tenant: (None, None) for tenant in tenants}


def test_a_notified_customer_shows_when_and_by_whom_and_the_others_do_not() -> None:
    model, incident, tenants = reported()
    incident.notify_customer(incident.tenant_ids[0], "csm-kim", NOW + timedelta(hours=1))
    model.apply(incident)

    assert notified(model, incident) == {
        tenants[0]: (NOW + timedelta(hours=1), "csm-kim"), tenants[1]: (None, None),
    }


def test_the_authority_notified_shows_when_and_its_reference() -> None:
    model, incident, _ = reported()
    incident.notify_authority("AP-2026-0017", "dpo-dan", NOW + timedelta(hours=20))
    model.apply(incident)

    row = model.row(INCIDENTS, incident.id)
    assert row is not None
    assert (row["authority_notified_at"], row["authority_reference"]) == (
        NOW + timedelta(hours=20), "AP-2026-0017")
    assert row["overdue"] == 0


def test_an_incident_past_its_deadline_is_marked_overdue() -> None:
    model, incident, _ = reported()
    incident.mark_overdue_if_due(AWARE + AUTHORITY_NOTICE + timedelta(minutes=1))
    model.apply(incident)

    assert model.row(INCIDENTS, incident.id)["overdue"] == 1  # type: ignore[index]
