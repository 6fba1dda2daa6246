"""Staff access to a tenant's data (DESIGN.md §7): asked, decided by the tenant, used under a grant."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from domain.access import AccessRequest
from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import (
    AccessRefused,
    AccessRequestExpired,
    ApprovalMayOnlyNarrow,
    DurationTooLong,
    GrantNotActive,
    RequesterCannotApprove,
    RequestNotPending,
    TenantNotActive,
)
from tests.unit.conftest import event_count

STAFF, CUSTOMER = "staff-ann", "customer-bob"


@pytest.fixture
def tenant_id(ledger: Ledger) -> UUID:
    return ledger.open_tenant("Acme B.V.", "officer-1").aggregate.id


def topics(ledger: Ledger, request_id: UUID) -> list[str]:
    return [type(event).__name__ for event in ledger.events.get(request_id)]


def ask(
    ledger: Ledger, tenant_id: UUID, scope: str = "read", resources: list[str] | None = None,
    duration_minutes: int | None = None,
) -> UUID:
    return ledger.request_access(
        tenant_id, STAFF, scope, resources or ["orders"], "ticket 42: customer cannot log in",
        ticket="SUP-42", duration_minutes=duration_minutes,
    ).aggregate.id


def granted(ledger: Ledger, tenant_id: UUID, **kwargs: object) -> UUID:
    request_id = ask(ledger, tenant_id, **kwargs)  # type: ignore[arg-type]
    ledger.approve_access(request_id, CUSTOMER)
    return request_id


# Pending requests expire after 12 hours
def test_a_pending_request_can_still_be_approved_one_minute_before_it_expires(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = ask(ledger, tenant_id)
    clock.move(hours=11, minutes=59)
    assert ledger.approve_access(request_id, CUSTOMER).aggregate.status == "approved"


def test_a_pending_request_cannot_be_approved_after_twelve_hours(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = ask(ledger, tenant_id)
    clock.move(hours=12)
    before = event_count(ledger)
    with pytest.raises(AccessRequestExpired):
        ledger.approve_access(request_id, CUSTOMER)
    with pytest.raises(AccessRequestExpired):
        ledger.deny_access(request_id, CUSTOMER, "too late anyway")
    assert event_count(ledger) == before


def test_expiring_a_lapsed_request_records_it_once_and_a_second_sweep_does_nothing(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = ask(ledger, tenant_id)
    requested_at = clock.now()
    clock.move(hours=11)
    assert ledger.expire_access_request(request_id) is None, "not due yet"
    clock.move(hours=2)

    outcome = ledger.expire_access_request(request_id)

    assert outcome is not None and outcome.aggregate.status == "expired"
    assert ledger.expire_access_request(request_id) is None
    assert topics(ledger, request_id) == ["Requested", "Expired"]
    expired = list(ledger.events.get(request_id))[-1]
    assert expired.expires_at == requested_at + timedelta(hours=12)
    assert expired.timestamp == clock.now(), "stamped when noticed, never back in time"
    with pytest.raises(RequestNotPending):
        ledger.approve_access(request_id, CUSTOMER)


# Grants last 4 hours by default and 8 at most
def test_a_grant_lasts_four_hours_by_default(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = ask(ledger, tenant_id)
    approved = ledger.approve_access(request_id, CUSTOMER).aggregate
    assert approved.valid_until == clock.now() + ledger.policy.default_grant
    assert (approved.valid_until - clock.now()).total_seconds() == 4 * 3600


def test_a_grant_cannot_be_asked_for_longer_than_eight_hours(
    ledger: Ledger, tenant_id: UUID
) -> None:
    before = event_count(ledger)
    with pytest.raises(DurationTooLong) as refused:
        ask(ledger, tenant_id, duration_minutes=481)
    assert refused.value.field == "duration_minutes"
    assert event_count(ledger) == before
    assert ledger.request_access(
        tenant_id, STAFF, "read", ["orders"], "r", duration_minutes=480
    ).aggregate.duration_minutes == 480


def test_using_a_grant_one_minute_after_it_ended_is_refused_and_the_refusal_recorded(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = granted(ledger, tenant_id)
    clock.move(hours=3, minutes=59)
    ledger.use_access(request_id, STAFF, "orders/17", "read")
    clock.move(minutes=2)

    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(request_id, STAFF, "orders/17", "read")

    assert "expired" in refused.value.reason
    assert topics(ledger, request_id)[-2:] == ["AccessRecorded", "AccessRefused"]
    assert refused.value.position == event_count(ledger)


def test_ending_a_grant_whose_time_ran_out_is_recorded_once(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = granted(ledger, tenant_id)
    valid_until = ledger.access_request(request_id).valid_until
    assert ledger.end_grant(request_id) is None
    clock.move(hours=5)
    outcome = ledger.end_grant(request_id)
    assert outcome is not None and outcome.aggregate.status == "ended"
    assert list(ledger.events.get(request_id))[-1].valid_until == valid_until
    assert ledger.end_grant(request_id) is None


# The approver may only narrow
def test_the_approver_may_shorten_the_grant(ledger: Ledger, tenant_id: UUID, clock: MovableClock) -> None:
    request_id = ask(ledger, tenant_id, duration_minutes=120)
    approved = ledger.approve_access(request_id, CUSTOMER, duration_minutes=30).aggregate
    assert (approved.valid_until - clock.now()).total_seconds() == 30 * 60


def test_the_approver_may_not_lengthen_the_grant(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id, duration_minutes=120)
    with pytest.raises(ApprovalMayOnlyNarrow) as refused:
        ledger.approve_access(request_id, CUSTOMER, duration_minutes=121)
    assert refused.value.field == "duration_minutes"
    assert ledger.access_request(request_id).status == "pending"


def test_the_approver_may_narrow_modify_to_read(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id, scope="modify")
    assert ledger.approve_access(request_id, CUSTOMER, scope="read").aggregate.granted_scope == "read"


@pytest.mark.parametrize("asked,widened", [("read", "export"), ("read", "modify"),
                                           ("export", "modify"), ("modify", "export")])
def test_the_approver_may_not_widen_the_scope_or_swap_it_for_another(
    ledger: Ledger, tenant_id: UUID, asked: str, widened: str
) -> None:
    request_id = ask(ledger, tenant_id, scope=asked)
    before = event_count(ledger)
    with pytest.raises(ApprovalMayOnlyNarrow) as refused:
        ledger.approve_access(request_id, CUSTOMER, scope=widened)
    assert refused.value.field == "scope"
    assert event_count(ledger) == before


def test_the_approver_may_narrow_the_resources_to_a_part_of_one(
    ledger: Ledger, tenant_id: UUID
) -> None:
    request_id = ask(ledger, tenant_id, resources=["orders", "invoices"])
    approved = ledger.approve_access(request_id, CUSTOMER, resources=["orders/17"]).aggregate
    assert approved.granted_resources == ["orders/17"]
    ledger.use_access(request_id, STAFF, "orders/17", "read")
    with pytest.raises(AccessRefused):
        ledger.use_access(request_id, STAFF, "invoices/3", "read")


@pytest.mark.parametrize("wider", [["customers"], ["order"], ["orders-archive"], ["orders", "users"]])
def test_the_approver_may_not_add_resources(
    ledger: Ledger, tenant_id: UUID, wider: list[str]
) -> None:
    request_id = ask(ledger, tenant_id, resources=["orders"])
    with pytest.raises(ApprovalMayOnlyNarrow) as refused:
        ledger.approve_access(request_id, CUSTOMER, resources=wider)
    assert refused.value.field == "resources"


# Export and modify grants are used once
@pytest.mark.parametrize("scope", ["export", "modify"])
def test_an_export_or_modify_grant_works_once_and_the_second_use_is_refused_and_recorded(
    ledger: Ledger, tenant_id: UUID, scope: str
) -> None:
    request_id = granted(ledger, tenant_id, scope=scope)
    ledger.use_access(request_id, STAFF, "orders", scope)
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(request_id, STAFF, "orders", scope)
    assert "used" in refused.value.reason
    assert topics(ledger, request_id) == ["Requested", "Approved", "AccessRecorded", "AccessRefused"]


def test_a_read_grant_may_be_used_many_times_while_it_lasts(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = granted(ledger, tenant_id)
    for _ in range(3):
        ledger.use_access(request_id, STAFF, "orders", "read")
        clock.move(minutes=30)
    assert topics(ledger, request_id).count("AccessRecorded") == 3


def test_a_read_grant_does_not_allow_an_export(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = granted(ledger, tenant_id)
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(request_id, STAFF, "orders", "export")
    assert "does not permit export" in refused.value.reason


# Revocation takes effect at once
def test_a_revoked_grant_is_refused_at_once(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = granted(ledger, tenant_id)
    ledger.use_access(request_id, STAFF, "orders", "read")
    ledger.revoke_access(request_id, CUSTOMER, "we solved it ourselves")
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(request_id, STAFF, "orders", "read")
    assert "revoked" in refused.value.reason


def test_only_an_active_grant_can_be_revoked(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id)
    with pytest.raises(GrantNotActive):
        ledger.revoke_access(request_id, CUSTOMER, "never mind")


# Nobody approves their own request
def test_the_requester_cannot_approve_their_own_request(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id)
    before = event_count(ledger)
    with pytest.raises(RequesterCannotApprove):
        ledger.approve_access(request_id, STAFF)
    assert event_count(ledger) == before


def test_the_requester_cannot_deny_their_own_request_either(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id)
    with pytest.raises(RequesterCannotApprove):
        ledger.deny_access(request_id, STAFF, "changed my mind")
    assert ledger.access_request(request_id).status == "pending"


def test_a_denied_request_cannot_be_approved_afterwards(ledger: Ledger, tenant_id: UUID) -> None:
    request_id = ask(ledger, tenant_id)
    ledger.deny_access(request_id, CUSTOMER, "not today")
    with pytest.raises(RequestNotPending):
        ledger.approve_access(request_id, CUSTOMER)


def test_someone_other_than_the_requester_cannot_use_the_grant_and_the_attempt_is_recorded(
    ledger: Ledger, tenant_id: UUID
) -> None:
    request_id = granted(ledger, tenant_id)
    with pytest.raises(AccessRefused):
        ledger.use_access(request_id, "staff-mallory", "orders", "read")
    refusal = list(ledger.events.get(request_id))[-1]
    assert isinstance(refusal, AccessRequest.AccessRefused) and refusal.actor == "staff-mallory"


# A terminated tenant's data cannot be granted or used
def test_a_terminated_tenant_cannot_be_asked_for_access(ledger: Ledger, tenant_id: UUID) -> None:
    ledger.terminate_tenant(tenant_id, "officer-1")
    before = event_count(ledger)
    with pytest.raises(TenantNotActive):
        ask(ledger, tenant_id)
    assert event_count(ledger) == before


def test_a_pending_request_cannot_be_approved_once_the_tenant_is_terminated(
    ledger: Ledger, tenant_id: UUID
) -> None:
    request_id = ask(ledger, tenant_id)
    ledger.terminate_tenant(tenant_id, "officer-1")
    with pytest.raises(TenantNotActive):
        ledger.approve_access(request_id, CUSTOMER)


def test_an_existing_grant_is_refused_after_termination_and_the_refusal_recorded(
    ledger: Ledger, tenant_id: UUID
) -> None:
    request_id = granted(ledger, tenant_id)
    ledger.terminate_tenant(tenant_id, "officer-1")
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(request_id, STAFF, "orders", "read")
    assert "terminated" in refused.value.reason
    assert topics(ledger, request_id)[-1] == "AccessRefused"


# Every allowed access and every refusal is an event
def test_every_allowed_access_and_every_refusal_adds_exactly_one_event(
    ledger: Ledger, tenant_id: UUID, clock: MovableClock
) -> None:
    request_id = granted(ledger, tenant_id, scope="export")
    before = event_count(ledger)
    attempts = [
        ("orders", "read", True),
        ("invoices", "read", False),      # outside the granted resources
        ("orders", "modify", False),      # not what was granted
        ("orders", "export", True),
        ("orders", "export", False),      # used once
    ]
    for resource, action, allowed in attempts:
        if allowed:
            ledger.use_access(request_id, STAFF, resource, action)
        else:
            with pytest.raises(AccessRefused):
                ledger.use_access(request_id, STAFF, resource, action)
    assert event_count(ledger) == before + len(attempts)
    recorded = list(ledger.events.get(request_id))[2:]
    assert [isinstance(e, AccessRequest.AccessRecorded) for e in recorded] == [
        allowed for _, _, allowed in attempts
    ]


def test_a_different_policy_changes_how_long_things_last(clock: MovableClock) -> None:
    from domain.grants import AccessPolicy

    ledger = Ledger(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock,
        policy=AccessPolicy(pending_lifetime=timedelta(hours=1), default_grant=timedelta(minutes=30),
                            maximum_grant=timedelta(hours=1)),
    )
    tenant_id = ledger.open_tenant("Acme", "officer-1").aggregate.id
    with pytest.raises(DurationTooLong):
        ask(ledger, tenant_id, duration_minutes=61)
    request_id = ask(ledger, tenant_id)
    assert ledger.access_request(request_id).duration_minutes == 30
    clock.move(hours=1)
    with pytest.raises(AccessRequestExpired):
        ledger.approve_access(request_id, CUSTOMER)
