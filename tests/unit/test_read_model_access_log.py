"""The tenant's access log, handler by handler, in memory: every look at the tenant's data,
allowed or refused, every disclosure, every read of a subject's data by the vendor's people,
and the purge, as the customer reads them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from domain.access import AccessRequest
from domain.disclosure import Disclosure
from domain.subject import Subject
from domain.tenant import Tenant
from domain.vendor_read import VendorRead
from projections.read_models.access_log import ANSWERING_REQUEST, PURGE_DETAIL, AccessLog
from projections.read_models.tables import ACCESS_LOG
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
STAFF, CUSTOMER = "staff-ann", "customer-bob"


def with_tenant() -> tuple[InMemoryReadModel, Tenant]:
    model = InMemoryReadModel(AccessLog)
    tenant = Tenant.open("Acme B.V.", None, "officer-1", NOW)
    model.keys.create(tenant.id)
    model.apply(tenant)
    return model, tenant


def log(model: InMemoryReadModel, tenant: Tenant) -> list[tuple[object, ...]]:
    return [
        (row["actor"], row["action"], row["resource"], row["outcome"], row["detail"])
        for row in model.rows_where(ACCESS_LOG, tenant_id=tenant.id)
    ]


def test_a_look_under_a_grant_is_logged_as_allowed_and_a_look_outside_it_as_refused() -> None:
    model, tenant = with_tenant()
    request = AccessRequest.ask(tenant, STAFF, "read", ["orders"], "a look", None, 10, NOW)
    request.approve(CUSTOMER, tenant, NOW)
    request.use(STAFF, "orders/17", "read", tenant, NOW + timedelta(minutes=1))
    request.use(STAFF, "invoices/3", "read", tenant, NOW + timedelta(minutes=2))
    model.apply(request)

    assert log(model, tenant) == [
        (STAFF, "read", "orders/17", "allowed", None),
        (STAFF, "read", "invoices/3", "refused", "'invoices/3' is outside the granted resources"),
    ]
    rows = model.rows_where(ACCESS_LOG, tenant_id=tenant.id)
    assert [row["at"] for row in rows] == [NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)]
    assert {row["request_id"] for row in rows} == {str(request.id)}


def test_a_disclosure_is_logged_with_its_legal_basis_and_reference() -> None:
    model, tenant = with_tenant()
    disclosure = Disclosure.record(
        tenant.id, "Police NL", "court_order", "case 2026/17", "officer-1", NOW
    )
    model.apply(disclosure)

    assert log(model, tenant) == [
        ("officer-1", "disclose", "Police NL", "disclosed", "court_order: case 2026/17")
    ]


def test_a_vendors_read_shows_the_readers_reason_opened_with_the_subjects_key() -> None:
    model, tenant = with_tenant()
    subject = Subject.register(tenant.id, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(subject.id, tenant.id)
    read = VendorRead.record(
        subject.id, tenant.id, "support-sam", "support", "profile", NOW,
        reason="the customer asked us to check a bounce",
    )
    model.apply(subject, read)

    [row] = model.rows_where(ACCESS_LOG, tenant_id=tenant.id)
    assert (row["actor"], row["action"], row["resource"], row["outcome"]) == (
        "support-sam", "read profile", f"subjects/{subject.id}", "vendor_read")
    assert (row["detail"], row["reason"]) == (None, "the customer asked us to check a bounce")
    assert row["subject_id"] == str(subject.id)

    model.keys.shred(subject.id)  # the subject's erasure takes the reason with it
    [row] = model.rows_where(ACCESS_LOG, tenant_id=tenant.id)
    assert row["reason"] == "[erased]"


def test_a_read_to_answer_the_subjects_own_request_says_so() -> None:
    model, tenant = with_tenant()
    subject = Subject.register(tenant.id, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(subject.id, tenant.id)
    request_id = uuid4()  # the subject's request: the caller looked up whose it is
    read = VendorRead.record(
        subject.id, tenant.id, "dpo-dan", "dpo", "history", NOW, request_id=request_id,
        request_subject_id=subject.id,
    )
    model.apply(subject, read)

    [row] = model.rows_where(ACCESS_LOG, tenant_id=tenant.id)
    assert (row["detail"], row["reason"], row["request_id"]) == (
        ANSWERING_REQUEST, None, str(request_id))


def test_a_read_of_a_subject_without_a_tenant_is_in_no_tenants_log() -> None:
    model, _ = with_tenant()
    subject = Subject.register(None, "Ada", "ada@example.com", None, "officer-1", NOW)
    model.keys.create(subject.id)
    model.apply(subject, VendorRead.record(
        subject.id, None, "support-sam", "support", "profile", NOW, reason="a bounce"
    ))

    assert model.rows.rows_of(ACCESS_LOG) == {}


def test_the_purge_is_the_last_entry_and_says_that_the_data_is_gone() -> None:
    model, tenant = with_tenant()
    tenant.terminate("officer-1", NOW)
    purged_at = NOW + timedelta(days=61)
    tenant.purge("sweep", purged_at)
    model.apply(tenant)

    assert log(model, tenant) == [
        ("sweep", "purge", f"tenants/{tenant.id}", "purged", PURGE_DETAIL)
    ]
    assert model.rows_where(ACCESS_LOG, tenant_id=tenant.id)[0]["at"] == purged_at
