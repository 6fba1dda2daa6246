"""The access requests read model, handler by handler, in memory: a request as the tenant's
reviewer and the requester see it, and the story of its decisions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.access import TERMINATION_ENDED, AccessRequest
from domain.deadlines import PENDING_ACCESS_REQUEST_LIFETIME
from domain.tenant import Tenant
from projections.read_models.access_requests import AccessRequests
from projections.read_models.tables import ACCESS_REQUEST_HISTORY, ACCESS_REQUESTS
from tests.unit.in_memory_writer import InMemoryReadModel

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
STAFF, CUSTOMER = "staff-ann", "customer-bob"


def asked(
    scope: str = "export", resources: tuple[str, ...] = ("orders", "invoices"),
) -> tuple[InMemoryReadModel, Tenant, AccessRequest]:
    model = InMemoryReadModel(AccessRequests)
    tenant = Tenant.open("Acme B.V.", None, "officer-1", NOW)
    model.keys.create(tenant.id)
    request = AccessRequest.ask(
        tenant, STAFF, scope, list(resources), "ticket 17: a broken invoice", "T-17", 60, NOW
    )
    model.apply(tenant, request)
    return model, tenant, request


def history(model: InMemoryReadModel, request: AccessRequest) -> list[tuple[object, ...]]:
    return [
        (row["event"], row["actor"], row["detail"], row["reason"], row["tenant_id"])
        for row in model.rows_where(ACCESS_REQUEST_HISTORY, request_id=request.id)
    ]


def test_a_new_request_is_pending_with_what_it_asks_for_and_why() -> None:
    model, tenant, request = asked()

    row = model.row(ACCESS_REQUESTS, request.id)
    assert row is not None
    assert (row["tenant_id"], row["requester"], row["status"]) == (str(tenant.id), STAFF, "pending")
    assert (row["scope"], row["resources"], row["duration_minutes"]) == (
        "export", '["orders", "invoices"]', 60)
    assert (row["reason"], row["ticket"]) == ("ticket 17: a broken invoice", "T-17")
    assert row["requested_at"] == NOW
    assert row["expires_at"] == NOW + PENDING_ACCESS_REQUEST_LIFETIME
    assert row["approver"] is None and row["decided_at"] is None
    assert history(model, request) == [
        ("requested", STAFF, "export on orders, invoices for 60 minutes", None, str(tenant.id))
    ]


def test_an_approved_request_shows_its_approver_and_the_scope_it_granted() -> None:
    model, tenant, request = asked()
    at = NOW + timedelta(minutes=5)
    request.approve(CUSTOMER, tenant, at, duration_minutes=30, scope="read",
                    resources=["orders/17"])
    model.apply(request)

    row = model.row(ACCESS_REQUESTS, request.id)
    assert row is not None
    assert (row["status"], row["approver"], row["decided_by"]) == ("approved", CUSTOMER, CUSTOMER)
    assert (row["granted_scope"], row["granted_resources"]) == ("read", '["orders/17"]')
    assert (row["decided_at"], row["valid_until"]) == (at, at + timedelta(minutes=30))
    assert history(model, request)[-1] == (
        "approved", CUSTOMER, "read on orders/17 for 30 minutes", None, str(tenant.id)
    )


def test_a_denied_request_shows_who_denied_it_and_why() -> None:
    model, tenant, request = asked()
    request.deny(CUSTOMER, "not without a contract change", NOW + timedelta(minutes=1))
    model.apply(request)

    row = model.row(ACCESS_REQUESTS, request.id)
    assert row is not None
    assert (row["status"], row["decided_by"], row["decided_at"]) == (
        "denied", CUSTOMER, NOW + timedelta(minutes=1))
    assert history(model, request)[-1] == (
        "denied", CUSTOMER, None, "not without a contract change", str(tenant.id)
    )


def test_a_revoked_grant_keeps_the_time_of_its_approval_but_names_who_ended_it() -> None:
    model, tenant, request = asked()
    request.approve(CUSTOMER, tenant, NOW + timedelta(minutes=1))
    request.revoke("customer-eve", "done early", NOW + timedelta(minutes=9))
    model.apply(request)

    row = model.row(ACCESS_REQUESTS, request.id)
    assert row is not None
    assert (row["status"], row["approver"], row["decided_by"]) == (
        "revoked", CUSTOMER, "customer-eve")
    assert row["decided_at"] == NOW + timedelta(minutes=1)
    assert history(model, request)[-1][:4] == ("revoked", "customer-eve", None, "done early")


def test_an_unanswered_request_expires_and_a_grant_ends_when_its_time_is_up() -> None:
    model, tenant, unanswered = asked()
    unanswered.expire_if_due(NOW + PENDING_ACCESS_REQUEST_LIFETIME)
    granted = AccessRequest.ask(tenant, STAFF, "read", ["orders"], "a look", None, 10, NOW)
    granted.approve(CUSTOMER, tenant, NOW)
    granted.end_grant_if_due(NOW + timedelta(minutes=10))
    model.apply(unanswered, granted)

    assert model.row(ACCESS_REQUESTS, unanswered.id)["status"] == "expired"  # type: ignore[index]
    assert model.row(ACCESS_REQUESTS, granted.id)["status"] == "ended"  # type: ignore[index]
    assert history(model, unanswered)[-1] == ("expired", None, None, None, str(tenant.id))
    assert history(model, granted)[-1] == ("ended", None, None, None, str(tenant.id))


def test_a_change_under_a_grant_uses_it_up_but_a_read_leaves_it_approved() -> None:
    model, tenant, reading = asked(scope="read")
    reading.approve(CUSTOMER, tenant, NOW)
    reading.use(STAFF, "orders/17", "read", tenant, NOW + timedelta(minutes=1))
    changing = AccessRequest.ask(tenant, STAFF, "modify", ["orders"], "fix it", None, 10, NOW)
    changing.approve(CUSTOMER, tenant, NOW)
    changing.use(STAFF, "orders/17", "modify", tenant, NOW + timedelta(minutes=2))
    model.apply(reading, changing)

    assert model.row(ACCESS_REQUESTS, reading.id)["status"] == "approved"  # type: ignore[index]
    assert [event for event, *_ in history(model, reading)] == ["requested", "approved"]
    assert model.row(ACCESS_REQUESTS, changing.id)["status"] == "used"  # type: ignore[index]
    assert history(model, changing)[-1] == (
        "used", STAFF, "modify orders/17", None, str(tenant.id)
    )


def test_a_termination_ends_the_tenants_pending_requests_and_says_why() -> None:
    model, tenant, request = asked()
    tenant.terminate("officer-1", NOW + timedelta(minutes=1))
    request.end_with_tenancy(tenant, "sweep", NOW + timedelta(minutes=2))
    model.apply(tenant, request)

    row = model.row(ACCESS_REQUESTS, request.id)
    assert row is not None
    assert (row["status"], row["decided_by"]) == ("ended", "sweep")
    assert history(model, request)[-1] == (
        "ended", "sweep", TERMINATION_ENDED, None, str(tenant.id)
    )


def test_a_purged_tenants_requests_and_their_history_keep_no_reason() -> None:
    model, tenant, request = asked()
    request.deny(CUSTOMER, "no", NOW)
    tenant.terminate("officer-1", NOW)
    tenant.purge("officer-1", NOW + timedelta(days=61))
    model.apply(request, tenant)

    stored = model.rows
    assert all(row["reason"] is None for row in stored.rows_of(ACCESS_REQUESTS).values())
    assert all(row["reason"] is None for row in stored.rows_of(ACCESS_REQUEST_HISTORY).values())
    assert [event for event, *_ in history(model, request)] == ["requested", "denied"]
