"""A termination ends the tenant's tenancy: its pending requests and grants end with it, and a
reactivation revives none of them (DESIGN.md §7)."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.ledger import Ledger
from domain.errors import AccessRefused, GrantEndedWithTenancy, RequestNotPending

STAFF, CUSTOMER, OFFICER = "staff-ann", "customer-bob", "olga"


@pytest.fixture
def tenant(ledger: Ledger) -> UUID:
    return ledger.open_tenant("Acme B.V.", OFFICER).aggregate.id


def _ask(ledger: Ledger, tenant: UUID) -> UUID:
    return ledger.request_access(tenant, STAFF, "read", ["orders"], "ticket 9").aggregate.id


def test_termination_ends_the_pending_request_and_the_grant_as_events(
    ledger: Ledger, tenant: UUID
) -> None:
    pending, granted = _ask(ledger, tenant), _ask(ledger, tenant)
    ledger.approve_access(granted, CUSTOMER)
    ledger.terminate_tenant(tenant, OFFICER)
    for request in (pending, granted):
        assert ledger.end_access_with_tenancy(request, OFFICER) is not None
        assert ledger.access_request(request).status == "ended"
        assert type(list(ledger.events.get(request))[-1]).__name__ == "EndedWithTenancy"
        assert ledger.end_access_with_tenancy(request, OFFICER) is None, "nothing twice"


def test_a_grant_ended_by_termination_stays_ended_after_reactivation(
    ledger: Ledger, tenant: UUID
) -> None:
    granted = _ask(ledger, tenant)
    ledger.approve_access(granted, CUSTOMER)
    ledger.terminate_tenant(tenant, OFFICER)
    ledger.end_access_with_tenancy(granted, OFFICER)
    ledger.reactivate_tenant(tenant, OFFICER)
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(granted, STAFF, "orders/17", "read")
    assert "ended" in refused.value.reason


def test_a_grant_the_termination_missed_is_refused_after_reactivation_all_the_same(
    ledger: Ledger, tenant: UUID
) -> None:
    """The read side had not listed it (a crash, a lag): the tenancy rule refuses it anyway."""
    granted, pending = _ask(ledger, tenant), _ask(ledger, tenant)
    ledger.approve_access(granted, CUSTOMER)
    ledger.terminate_tenant(tenant, OFFICER)
    ledger.reactivate_tenant(tenant, OFFICER)
    with pytest.raises(AccessRefused) as refused:
        ledger.use_access(granted, STAFF, "orders/17", "read")
    assert refused.value.reason == "the grant ended when the tenant was terminated"
    with pytest.raises(GrantEndedWithTenancy):
        ledger.approve_access(pending, CUSTOMER)
    assert ledger.end_access_with_tenancy(pending, OFFICER) is not None
    with pytest.raises(RequestNotPending):
        ledger.approve_access(pending, CUSTOMER)


def test_a_request_asked_after_reactivation_works(ledger: Ledger, tenant: UUID) -> None:
    ledger.terminate_tenant(tenant, OFFICER)
    ledger.reactivate_tenant(tenant, OFFICER)
    request = _ask(ledger, tenant)
    ledger.approve_access(request, CUSTOMER)
    ledger.use_access(request, STAFF, "orders/17", "read")
    assert ledger.end_access_with_tenancy(request, OFFICER) is None
