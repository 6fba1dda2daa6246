"""The outbox's second half, on SQLite and PostgreSQL: a delivery is tried on its schedule
until its receiver takes it, every attempt is recorded, and the receiver checks each with the
Standard Webhooks package (tests/webhook_receiver.py), not with the ledger's code."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from api.bootstrap import build
from api.container import Container
from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.webhook_receiver import Answer, WebhookReceiver


@pytest.fixture
def container(durable_settings: Settings, clock: MovableClock) -> Iterator[Container]:
    settings = make_settings(
        durable_settings.database_url, durable_settings.data_dir,
        webhook_allowed_hosts=["127.0.0.1"], webhook_timeout_seconds=2,
    )
    made = build(settings, clock=clock, sealer=False)
    try:
        yield made
    finally:
        made.close()


def subscribe(container: Container, url: str, tenant: UUID, *types: str) -> tuple[UUID, str]:
    ledger = container.stores.ledger
    sub, secret = container.subscriptions().create(
        url=url, types=list(types), actor="carla", now=ledger.now(),
        head=int(ledger.recorder.max_notification_id() or 0), tenant_id=tenant,
    )
    return sub.id, secret


def ask_access(container: Container, tenant: UUID) -> UUID:
    return container.stores.ledger.request_access(
        tenant, "sam", "read", ["orders"], "a look at order 7", duration_minutes=60,
    ).aggregate.id


def dispatch(container: Container) -> int:
    container.outbox.catch_up()
    return container.dispatcher().run_once()


def test_a_receiver_that_fails_twice_gets_the_third_attempt_under_the_same_id(
    container: Container, clock: MovableClock
) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    with WebhookReceiver(answers=[500, Answer(503, retry_after="1")], check_timestamp=False) as hook:
        sub, secret = subscribe(container, hook.url, tenant, "access.requested")
        hook.secret = secret
        request_id = ask_access(container, tenant)
        assert dispatch(container) == 1
        assert dispatch(container) == 0  # not due again before its wait
        clock.move(seconds=6)
        assert dispatch(container) == 1
        clock.move(minutes=6)
        assert dispatch(container) == 1
        received = hook.wait_for(3)

    assert hook.verified
    assert len({r.headers["webhook-id"] for r in received}) == 1
    assert received[-1].payload["type"] == "access.requested"
    assert received[-1].payload["data"]["id"] == str(request_id)
    [delivery] = container.deliveries().for_subscription(sub)
    assert delivery.status == "delivered" and delivery.attempts == 3
    attempts = container.deliveries().attempts(delivery.id)
    assert [a.status for a in attempts] == [500, 503, 204]
    assert all(a.latency_ms >= 0 for a in attempts)
    assert attempts[0].at < attempts[1].at < attempts[2].at


def test_a_receiver_answering_410_disables_its_subscription(
    container: Container, clock: MovableClock
) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    with WebhookReceiver(then=410, check_timestamp=False) as hook:
        sub, hook.secret = subscribe(container, hook.url, tenant, "access.requested")
        ask_access(container, tenant)
        dispatch(container)
        ask_access(container, tenant)
        dispatch(container)
        assert len(hook.requests) == 1  # the second is never sent

    subscription = container.subscriptions().get(sub)
    assert subscription is not None and subscription.status == "disabled"
    assert "410" in (subscription.disabled_reason or "")
    # The gone one is disabled; a disabled subscription is given nothing new.
    assert [d.status for d in container.deliveries().for_subscription(sub)] == ["disabled"]


def test_a_delivery_expires_when_its_schedule_runs_out(
    durable_settings: Settings, clock: MovableClock
) -> None:
    settings = make_settings(
        durable_settings.database_url, durable_settings.data_dir,
        webhook_allowed_hosts=["127.0.0.1"], webhook_retry_seconds=[1, 1],
    )
    container = build(settings, clock=clock, sealer=False)
    try:
        tenant = container.stores.ledger.open_tenant("Acme", "olga").aggregate.id
        with WebhookReceiver(then=500, check_timestamp=False) as hook:
            sub, hook.secret = subscribe(container, hook.url, tenant, "access.requested")
            ask_access(container, tenant)
            for _ in range(4):
                dispatch(container)
                clock.move(seconds=2)
        [delivery] = container.deliveries().for_subscription(sub)
        assert delivery.status == "expired" and delivery.attempts == 3
        assert len(hook.requests) == 3
        again = container.deliveries().redeliver(delivery.id, clock.now())
        assert again.status == "pending" and again.id == delivery.id
    finally:
        container.close()


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    container: Container, clock: MovableClock
) -> None:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    with WebhookReceiver(check_timestamp=False) as elsewhere, WebhookReceiver(
        then=Answer(307, location=elsewhere.url), check_timestamp=False
    ) as hook:
        sub, hook.secret = subscribe(container, hook.url, tenant, "access.requested")
        ask_access(container, tenant)
        dispatch(container)
        assert elsewhere.requests == []
    [delivery] = container.deliveries().for_subscription(sub)
    assert delivery.status == "pending" and delivery.last_status == 307
