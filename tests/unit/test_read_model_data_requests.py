"""The subjects' requests read model, handler by handler, in memory: where a request stands, when
it is due, and what is left of its free text after an erasure or a purge."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.data_request import DataRequest
from domain.deadlines import QUOTED_EXPORT_DELIVERY
from domain.subject import Subject
from domain.tenant import Tenant
from projections.read_models.data_requests import DataRequests
from projections.read_models.tables import DATA_REQUESTS
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
DPO = "dpo-dan"


def received(kind: str = "access") -> tuple[InMemoryReadModel, Tenant, Subject, DataRequest]:
    model = InMemoryReadModel(DataRequests)
    tenant = Tenant.open("Acme B.V.", None, "officer-1", NOW)
    subject = Subject.register(tenant.id, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(tenant.id)
    model.keys.create(subject.id, tenant.id)
    request = DataRequest.receive(
        subject.id, tenant.id, kind, "email", "all my orders, please", DPO, NOW
    )
    model.apply(tenant, subject, request)
    return model, tenant, subject, request


def shown(model: InMemoryReadModel, request: DataRequest) -> dict[str, object]:
    row = model.row(DATA_REQUESTS, request.id)
    assert row is not None
    return row


def test_a_new_request_is_received_and_due_in_a_month_with_its_details() -> None:
    model, tenant, subject, request = received()

    row = shown(model, request)
    assert (row["subject_id"], row["tenant_id"]) == (str(subject.id), str(tenant.id))
    assert (row["kind"], row["channel"], row["status"]) == ("access", "email", "received")
    assert (row["received_at"], row["entered_at"], row["entered_by"]) == (NOW, NOW, DPO)
    assert row["due_at"] == datetime(2026, 2, 5, 9, 0, tzinfo=timezone.utc)
    assert row["details"] == "all my orders, please"
    assert (row["overdue"], row["identity_verified"], row["extended_months"]) == (0, 0, 0)


def test_a_request_entered_late_counts_from_when_it_arrived() -> None:
    model = InMemoryReadModel(DataRequests)
    subject = Subject.register(None, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(subject.id)
    arrived = NOW - timedelta(days=3)
    request = DataRequest.receive(subject.id, None, "erasure", "letter", None, DPO, NOW, arrived)
    model.apply(subject, request)

    row = shown(model, request)
    assert (row["received_at"], row["entered_at"]) == (arrived, NOW)
    assert row["due_at"] == datetime(2026, 2, 2, 9, 0, tzinfo=timezone.utc)
    assert row["tenant_id"] is None and row["details"] is None


def test_verifying_the_requester_makes_a_received_request_verified() -> None:
    model, _, _, request = received()
    request.verify_identity("passport", DPO, NOW + timedelta(days=1))
    model.apply(request)

    row = shown(model, request)
    assert (row["status"], row["identity_verified"]) == ("verified", 1)
    assert row["updated_at"] == NOW + timedelta(days=1)


def test_verifying_the_requester_of_a_quoted_export_leaves_it_quoted() -> None:
    model, _, _, request = received("portability")
    request.quote_fee(2500, "EUR", DPO, NOW + timedelta(days=1))
    request.verify_identity("passport", DPO, NOW + timedelta(days=2))
    model.apply(request)

    row = shown(model, request)
    assert (row["status"], row["identity_verified"]) == ("quoted", 1)
    assert (row["quote_amount_cents"], row["quote_currency"]) == (2500, "EUR")


def test_an_extension_moves_the_due_date_and_shows_its_reason() -> None:
    model, _, _, request = received()
    request.extend(1, "many systems to search", DPO, NOW + timedelta(days=2))
    request.extend(1, "and more", DPO, NOW + timedelta(days=3))
    model.apply(request)

    row = shown(model, request)
    assert row["extended_months"] == 2
    assert row["due_at"] == datetime(2026, 4, 5, 9, 0, tzinfo=timezone.utc)
    assert row["extension_reason"] == "and more"


def test_an_accepted_quote_gives_the_export_its_own_delivery_deadline() -> None:
    model, _, _, request = received("portability")
    request.quote_fee(2500, "EUR", DPO, NOW)
    accepted_at = NOW + timedelta(days=1)
    request.accept_quote("customer-bob", accepted_at)
    model.apply(request)

    row = shown(model, request)
    assert row["status"] == "quote_accepted"
    assert row["due_at"] == accepted_at + QUOTED_EXPORT_DELIVERY


def test_a_declined_quote_closes_the_request() -> None:
    model, _, _, request = received("portability")
    request.quote_fee(2500, "EUR", DPO, NOW)
    request.decline_quote("customer-bob", NOW + timedelta(days=1))
    model.apply(request)

    row = shown(model, request)
    assert (row["status"], row["closed_at"]) == ("declined", NOW + timedelta(days=1))


def test_a_fulfilled_request_shows_what_was_delivered_and_when() -> None:
    model, _, _, request = received()
    request.verify_identity("passport", DPO, NOW)
    done = NOW + timedelta(days=4)
    request.fulfil(DPO, done, delivery_sha256="ab" * 32, delivery_format="json")
    model.apply(request)

    row = shown(model, request)
    assert (row["status"], row["closed_at"]) == ("fulfilled", done)
    assert (row["delivery_sha256"], row["delivery_format"]) == ("ab" * 32, "json")


def test_a_rejected_request_shows_why() -> None:
    model, _, _, request = received()
    request.reject("manifestly unfounded", DPO, NOW + timedelta(days=1))
    model.apply(request)

    row = shown(model, request)
    assert (row["status"], row["rejection_reason"]) == ("rejected", "manifestly unfounded")
    assert row["closed_at"] == NOW + timedelta(days=1)


def test_a_request_marked_overdue_stays_marked() -> None:
    model, _, _, request = received()
    request.mark_overdue_if_due(NOW + timedelta(days=40))
    model.apply(request)

    assert shown(model, request)["overdue"] == 1


def test_the_subjects_erasure_clears_the_free_text_of_its_requests_only() -> None:
    model, tenant, subject, request = received()
    request.extend(1, "busy", DPO, NOW)
    other = Subject.register(tenant.id, "Bea", "bea@example.com", None, "officer-1", NOW)
    model.keys.create(other.id, tenant.id)
    kept = DataRequest.receive(other.id, tenant.id, "access", "email", "mine too", DPO, NOW)
    subject.erase(DPO, NOW + timedelta(days=1))
    model.apply(request, other, kept, subject)

    stored = model.rows.rows_of(DATA_REQUESTS)[(str(request.id),)]
    assert (stored["details"], stored["extension_reason"], stored["rejection_reason"]) == (
        None, None, None)
    assert shown(model, kept)["details"] == "mine too"


def test_an_erasure_becoming_final_marks_the_subjects_erasure_requests_only() -> None:
    model, _, subject, access = received()
    erasure = DataRequest.receive(subject.id, subject.tenant_id, "erasure", "email", None, DPO, NOW)
    subject.erase(DPO, NOW)
    final_at = NOW + timedelta(days=30)
    subject.record_erasure_final(final_at, last_key_epoch=4)
    model.apply(erasure, subject)

    assert shown(model, erasure)["erasure_final_at"] == final_at
    assert shown(model, access)["erasure_final_at"] is None


def test_a_purge_clears_the_tenants_requests_and_its_finality_marks_their_erasures() -> None:
    model, tenant, subject, access = received()
    erasure = DataRequest.receive(subject.id, tenant.id, "erasure", "email", "forget me", DPO, NOW)
    tenant.terminate("officer-1", NOW)
    tenant.purge("officer-1", NOW + timedelta(days=61))
    final_at = NOW + timedelta(days=90)
    tenant.record_purge_final(final_at, last_key_epoch=5)
    model.apply(erasure, tenant)

    stored = model.rows.rows_of(DATA_REQUESTS)
    assert [row["details"] for row in stored.values()] == [None, None]
    assert shown(model, erasure)["erasure_final_at"] == final_at
    assert shown(model, access)["erasure_final_at"] is None


def test_an_erasure_already_final_keeps_its_time_when_the_tenants_purge_becomes_final() -> None:
    model, tenant, subject, _ = received()
    erasure = DataRequest.receive(subject.id, tenant.id, "erasure", "email", None, DPO, NOW)
    subject.erase(DPO, NOW)
    subject.record_erasure_final(NOW + timedelta(days=20), last_key_epoch=4)
    tenant.terminate("officer-1", NOW)
    tenant.purge("officer-1", NOW + timedelta(days=61))
    tenant.record_purge_final(NOW + timedelta(days=90), last_key_epoch=5)
    model.apply(erasure, subject, tenant)

    assert shown(model, erasure)["erasure_final_at"] == NOW + timedelta(days=20)
