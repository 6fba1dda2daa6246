"""Resources are names, matched exactly (DESIGN.md §7): a grant for `orders/17` covers nothing
else, whatever a caller writes after it."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import AccessRefused, InvalidInput
from domain.resources import covers
from tests.unit.conftest import event_count

STAFF, CUSTOMER = "staff-ann", "customer-bob"
SEGMENT = st.text(alphabet="abcdefgh0123456789-_.:", min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
NAME = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)
# What an attacker writes to climb out of a grant, or to hide a name behind an encoding.
BAD_PARTS = st.sampled_from(["..", ".", "", "%2e%2e", "%2F", "a%00", "a\\b", "\x00", "a\nb", " "])


def _ledger() -> tuple[Ledger, UUID]:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=MovableClock())
    return ledger, ledger.open_tenant("Acme B.V.", "olga").aggregate.id


def _granted(ledger: Ledger, tenant: UUID, resources: list[str]) -> UUID:
    request = ledger.request_access(tenant, STAFF, "read", resources, "ticket 7").aggregate.id
    ledger.approve_access(request, CUSTOMER)
    return request


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(grants=st.lists(NAME, min_size=1, max_size=3), wanted=NAME)
def test_a_use_is_allowed_exactly_when_its_segments_start_with_a_granted_resources_segments(
    grants: list[str], wanted: str
) -> None:
    ledger, tenant = _ledger()
    request = _granted(ledger, tenant, grants)
    expected = any(wanted.split("/")[: len(g.split("/"))] == g.split("/") for g in grants)
    try:
        ledger.use_access(request, STAFF, wanted, "read")
        allowed = True
    except AccessRefused:
        allowed = False
    assert allowed is expected


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=NAME, bad=BAD_PARTS, suffix=st.one_of(st.just(""), NAME.map(lambda n: "/" + n)))
def test_a_name_with_a_dot_segment_an_escape_a_backslash_a_nul_or_an_empty_segment_is_refused_everywhere(
    prefix: str, bad: str, suffix: str
) -> None:
    resource = f"{prefix}/{bad}{suffix}"
    ledger, tenant = _ledger()
    before = event_count(ledger)
    with pytest.raises(InvalidInput) as at_request:
        ledger.request_access(tenant, STAFF, "read", [resource], "ticket 7")
    assert at_request.value.field == "resources"
    assert event_count(ledger) == before

    pending = ledger.request_access(tenant, STAFF, "read", [prefix], "ticket 7").aggregate.id
    with pytest.raises(InvalidInput) as at_approval:
        ledger.approve_access(pending, CUSTOMER, resources=[resource])
    assert at_approval.value.field == "resources"

    ledger.approve_access(pending, CUSTOMER)
    before = event_count(ledger)
    with pytest.raises(InvalidInput) as at_use:
        ledger.use_access(pending, STAFF, resource, "read")
    assert at_use.value.field == "resource"
    assert event_count(ledger) == before, "a name refused at the door records nothing"


@pytest.mark.parametrize("attempt", [
    "orders/17/../../invoices/3", "orders/17/..", "orders/17/./18", "orders/17/", "/orders/17",
    "orders//17", "orders%2F17", "orders\\17", "orders/17\x00", "orders/17%00",
])
def test_a_grant_for_one_order_cannot_be_stretched_by_path_tricks(
    ledger: Ledger, attempt: str
) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    request = _granted(ledger, tenant, ["orders/17"])
    with pytest.raises(InvalidInput):
        ledger.use_access(request, STAFF, attempt, "read")


def test_a_grant_for_orders_covers_each_order_but_not_orders_archive(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    request = _granted(ledger, tenant, ["orders"])
    ledger.use_access(request, STAFF, "orders", "read")
    ledger.use_access(request, STAFF, "orders/17/lines:2", "read")
    with pytest.raises(AccessRefused):
        ledger.use_access(request, STAFF, "orders-archive/17", "read")


def test_a_grant_for_one_order_covers_that_order_and_nothing_beside_it() -> None:
    assert covers("orders/17", "orders/17")
    assert covers("orders/17", "orders/17/lines")
    assert not covers("orders/17", "orders/170")
    assert not covers("orders/17", "orders")
    assert not covers("orders/17", "invoices/3")


def test_a_name_of_512_characters_is_a_resource_and_513_is_too_long(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    ledger.request_access(tenant, STAFF, "read", ["a" * 512], "ticket 7")
    with pytest.raises(InvalidInput):
        ledger.request_access(tenant, STAFF, "read", ["a" * 513], "ticket 7")
