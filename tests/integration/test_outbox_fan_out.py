"""The outbox's first half, on SQLite and PostgreSQL: each event someone must hear about
becomes one delivery per receiver that must hear it, once, whatever runs twice."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from api.bootstrap import build
from api.container import Container
from api.settings import Settings
from domain.clock import MovableClock
from projections.outbox.notices import NAME
from projections.read_models.tables import TRACKING_TABLE

HOOK = "https://hooks.example.org/ledger"


@pytest.fixture
def container(durable_settings: Settings, clock: MovableClock) -> Iterator[Container]:
    made = build(durable_settings, clock=clock, sealer=False)
    try:
        yield made
    finally:
        made.close()


def subscribe(container: Container, tenant: UUID | None, *types: str) -> UUID:
    ledger = container.stores.ledger
    sub, secret = container.subscriptions().create(
        url=HOOK, types=list(types), actor="someone", now=ledger.now(),
        head=int(ledger.recorder.max_notification_id() or 0), tenant_id=tenant,
    )
    assert secret.startswith("whsec_")
    return sub.id


def ask_access(container: Container, tenant: UUID) -> UUID:
    outcome = container.stores.ledger.request_access(
        tenant, "sam", "read", ["orders"], "ticket 7 needs a look", ticket="T-7",
        duration_minutes=60,
    )
    return outcome.aggregate.id


def fan_out(container: Container) -> int:
    container.outbox.catch_up()
    return container.dispatcher().fan_out()


def test_an_access_request_reaches_each_subscription_of_its_tenant_once(container: Container) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    other = ledger.open_tenant("Other", "olga").aggregate.id
    mine = subscribe(container, tenant, "access.requested", "access.approved")
    theirs = subscribe(container, other, "access.requested")
    vendor = subscribe(container, None, "access.requested")
    request_id = ask_access(container, tenant)

    assert fan_out(container) == 2
    assert fan_out(container) == 0  # nothing new: nothing made twice
    [delivery] = container.deliveries().for_subscription(mine)
    assert delivery.type == "access.requested" and delivery.status == "pending"
    assert delivery.id.startswith("msg_")
    assert delivery.payload["data"]["id"] == str(request_id)
    assert delivery.payload["data"]["tenant_id"] == str(tenant)
    assert "ticket 7" not in str(delivery.payload)  # the reason is personal: never sent
    assert container.deliveries().for_subscription(theirs) == []
    assert len(container.deliveries().for_subscription(vendor)) == 1


def test_a_subscription_hears_nothing_recorded_before_it_was_made(container: Container) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    ask_access(container, tenant)
    container.outbox.catch_up()
    late = subscribe(container, tenant, "access.requested")
    fan_out(container)
    assert container.deliveries().for_subscription(late) == []
    ask_access(container, tenant)
    fan_out(container)
    assert len(container.deliveries().for_subscription(late)) == 1


def test_a_later_step_of_a_request_reaches_its_tenant(container: Container) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    sub = subscribe(container, tenant, "access.approved")
    request_id = ask_access(container, tenant)
    ledger.approve_access(request_id, "carla")
    fan_out(container)
    [delivery] = container.deliveries().for_subscription(sub)
    assert delivery.type == "access.approved" and delivery.tenant_id == tenant


def test_an_outbox_installed_on_a_store_with_a_history_starts_at_its_head(
    durable_settings: Settings, clock: MovableClock
) -> None:
    first = build(durable_settings, clock=clock, sealer=False)
    try:
        first.stores.db.execute(f"DELETE FROM {TRACKING_TABLE} WHERE name = %s", (NAME,))
        tenant = first.stores.ledger.open_tenant("Acme", "olga").aggregate.id
        subscribe(first, None, "access.requested")
        ask_access(first, tenant)
        head = int(first.stores.ledger.recorder.max_notification_id())
    finally:
        first.close()
    again = build(durable_settings, clock=clock, sealer=False)
    try:
        assert again.outbox.positions()[NAME] == head
        assert fan_out(again) == 0
    finally:
        again.close()


def test_a_purged_tenant_leaves_no_approver_address_or_subscription_behind(
    container: Container, clock: MovableClock
) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    container.contacts().set_contacts(tenant, ["ann@acme.example"], "en", ledger.now())
    sub = subscribe(container, tenant, "access.requested")
    ledger.terminate_tenant(tenant, "olga")
    clock.move(days=61)
    ledger.purge_tenant(tenant, "olga")
    fan_out(container)
    assert container.contacts().contacts(tenant) is None
    assert container.subscriptions().get(sub) is None
