"""The subjects' requests read model keeps where each request's propagation stands, one row per
system told: pending, then confirmed, failed (with its reason) or waived; the reasons are gone
with the subject's key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from domain.data_request import DataRequest
from domain.personal import ERASED
from domain.propagation import DownstreamSystem
from domain.subject import Subject
from domain.tenant import Tenant
from projections.read_models.data_requests import DATA_REQUEST_PROPAGATION, DataRequests
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
DPO = "dpo-dan"
CRM = DownstreamSystem.define(uuid4(), "CRM", [], ["erasure"])
MAIL = DownstreamSystem.define(uuid4(), "Mail", [], ["erasure"])


def propagated() -> tuple[InMemoryReadModel, Tenant, Subject, DataRequest]:
    model = InMemoryReadModel(DataRequests)
    tenant = Tenant.open("Acme B.V.", None, "officer-1", NOW)
    subject = Subject.register(tenant.id, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(tenant.id)
    model.keys.create(subject.id, tenant.id)
    request = DataRequest.receive(subject.id, tenant.id, "erasure", "email", None, DPO, NOW)
    request.verify_identity("passport", DPO, NOW, [CRM, MAIL])
    model.apply(tenant, subject, request)
    return model, tenant, subject, request


def told(model: InMemoryReadModel, request: DataRequest) -> dict[str, tuple]:
    return {
        row["name"]: (row["status"], row["reason"])
        for row in model.rows_where(DATA_REQUEST_PROPAGATION, request_id=request.id)
    }


def test_each_system_told_is_pending_in_the_order_it_was_told() -> None:
    model, _, subject, request = propagated()

    rows = model.rows_where(DATA_REQUEST_PROPAGATION, request_id=request.id)
    assert [(r["name"], r["ordinal"], r["status"]) for r in rows] == [
        ("CRM", 0, "pending"), ("Mail", 1, "pending")]
    assert rows[0]["subject_id"] == str(subject.id) and rows[0]["at"] == NOW


def test_answers_replace_the_pending_state_and_a_failure_shows_why() -> None:
    model, _, _, request = propagated()
    later = NOW + timedelta(hours=2)
    request.report_propagation_failure(MAIL.id, "mailbox on legal hold", "mail", NOW)
    request.confirm_propagation(CRM.id, "crm", later)
    model.apply(request)

    assert told(model, request) == {
        "CRM": ("confirmed", None), "Mail": ("failed", "mailbox on legal hold")}
    crm = model.row(DATA_REQUEST_PROPAGATION, request.id, CRM.id)
    assert crm is not None and crm["at"] == later


def test_a_waiver_settles_every_system_not_yet_confirmed_with_its_reason() -> None:
    model, _, _, request = propagated()
    request.confirm_propagation(CRM.id, "crm", NOW)
    request.waive_propagation("decommissioned", DPO, NOW)
    model.apply(request)

    assert told(model, request) == {"CRM": ("confirmed", None), "Mail": ("waived", "decommissioned")}


def test_the_reasons_go_with_the_subjects_erasure() -> None:
    model, _, subject, request = propagated()
    request.report_propagation_failure(MAIL.id, "mailbox on legal hold", "mail", NOW)
    subject.erase(DPO, NOW)
    model.apply(request, subject)
    model.keys.shred(subject.id)

    stored = model.rows.rows_of(DATA_REQUEST_PROPAGATION)[(str(request.id), str(MAIL.id))]
    assert stored["reason"] is None
    assert told(model, request)["Mail"] == ("failed", ERASED)


def test_the_reasons_go_with_the_tenants_purge() -> None:
    model, tenant, _, request = propagated()
    request.report_propagation_failure(CRM.id, "locked", "crm", NOW)
    tenant.terminate("officer-1", NOW)
    tenant.purge("officer-1", NOW + timedelta(days=61))
    model.apply(request, tenant)

    stored = model.rows.rows_of(DATA_REQUEST_PROPAGATION)[(str(request.id), str(CRM.id))]
    assert stored["reason"] is None
