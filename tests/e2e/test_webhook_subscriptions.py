"""Webhook subscriptions through the HTTP API, on every store: a customer's for its tenant, an
officer's for the vendor; targets checked against SSRF; secrets shown once; deliveries listed
with their attempts and sent again on request, to a real receiver on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, created, fields_named, ok, open_api, problem
from tests.webhook_receiver import WebhookReceiver

HOOK = {"url": "https://hooks.example.org/ledger", "types": ["access.requested"]}
ACCESS = {"scope": "read", "resources": ["orders"], "reason": "ticket 17", "duration_minutes": 60}


@pytest.fixture
def loopback_api(database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """The app on each store, with 127.0.0.1 allowed as a webhook target (as an operator would
    allow a receiver inside the cluster)."""
    settings = make_settings(
        database_url, tmp_path / "var", poll_interval_ms=10,
        webhook_allowed_hosts=["127.0.0.1"], outbox_interval_seconds=0.05,
    )
    yield from open_api(settings, clock)


def _tenant(api: Api, name: str = "Acme B.V.") -> str:
    return created(api.user("officer", "olga").post("/v1/tenants", json={"name": name}))["id"]


def _customer(api: Api, tenant: str, actor: str = "carla") -> User:
    return api.user("customer", actor, tenant)


def _loopback(port: int = 9) -> dict[str, Any]:
    return {"url": f"http://127.0.0.1:{port}/hooks", "types": ["access.requested"]}


def test_a_customer_subscribes_changes_disables_rotates_and_deletes_its_webhook(
    loopback_api: Api,
) -> None:
    api = loopback_api
    tenant = _tenant(api)
    carla = _customer(api, tenant)

    made = created(carla.post("/v1/webhooks", json={**_loopback(), "description": "on call"}))
    assert made["secret"].startswith("whsec_") and made["tenant_id"] == tenant
    assert made["status"] == "active" and made["types"] == ["access.requested"]
    hook = f"/v1/webhooks/{made['id']}"

    changed = ok(carla.patch(hook, json={
        "types": ["access.requested", "incident.reported"], "description": None,
    }))
    assert changed["types"] == ["access.requested", "incident.reported"]
    assert changed["description"] is None and changed["url"] == made["url"]

    disabled = ok(carla.patch(hook, json={"status": "disabled"}))
    assert disabled["status"] == "disabled" and "carla" in disabled["disabled_reason"]
    assert ok(carla.patch(hook, json={"status": "active"}))["disabled_reason"] is None

    rotated = ok(carla.post(f"{hook}/rotate-secret"))
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]

    assert carla.request("DELETE", hook).status_code == 204
    problem(carla.get(hook), 404)
    assert ok(carla.get("/v1/webhooks"))["items"] == []


def test_no_read_answer_ever_shows_a_secret(loopback_api: Api) -> None:
    carla = _customer(loopback_api, _tenant(loopback_api))
    made = created(carla.post("/v1/webhooks", json=_loopback()))
    secret = made["secret"]
    for path in ("/v1/webhooks", f"/v1/webhooks/{made['id']}",
                 f"/v1/webhooks/{made['id']}/deliveries"):
        answer = carla.get(path)
        assert answer.status_code == 200, answer.text
        assert secret not in answer.text and "secret" not in answer.json()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hooks", "https://127.0.0.1/hooks", "https://10.1.2.3/hooks",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hooks", "https://localhost/hooks",
    "ftp://hooks.example.org/", "https://user:pw@93.184.215.14/hooks",
])
def test_a_subscription_to_a_private_address_is_refused(api: Api, url: str) -> None:
    carla = _customer(api, _tenant(api))
    response = carla.post("/v1/webhooks", json={**HOOK, "url": url})
    assert fields_named(response) == {"url"}
    assert ok(carla.get("/v1/webhooks"))["items"] == []


def test_a_loopback_receiver_is_accepted_once_the_operator_allows_its_host(
    loopback_api: Api,
) -> None:
    carla = _customer(loopback_api, _tenant(loopback_api))
    assert created(carla.post("/v1/webhooks", json=_loopback(8080)))["url"].startswith("http://127")


def test_unknown_types_and_the_vendors_types_are_refused_to_a_customer_naming_types(
    api: Api,
) -> None:
    carla = _customer(api, _tenant(api))
    for types in (["access.maybe"], ["data_request.overdue"], ["consent.changed"], []):
        assert fields_named(carla.post("/v1/webhooks", json={**HOOK, "types": types})) == {"types"}


def test_an_officers_subscription_is_the_vendors_and_may_hear_the_vendors_notices(
    loopback_api: Api,
) -> None:
    api = loopback_api
    olga = api.user("officer", "olga")
    types = ["data_request.overdue", "incident.overdue", "access.requested"]
    made = created(olga.post("/v1/webhooks", json={**_loopback(), "types": types}))
    assert made["tenant_id"] is None and made["types"] == types
    assert [h["id"] for h in ok(olga.get("/v1/webhooks"))["items"]] == [made["id"]]
    # A customer neither lists nor reaches the vendor's subscription.
    carla = _customer(api, _tenant(api))
    assert ok(carla.get("/v1/webhooks"))["items"] == []
    problem(carla.get(f"/v1/webhooks/{made['id']}"), 404)
    problem(olga.post("/v1/webhooks", json={**_loopback(), "types": ["erasure.requested"]}), 422)


def test_another_tenants_subscription_is_not_found_whatever_is_asked(loopback_api: Api) -> None:
    api = loopback_api
    own, other = _tenant(api, "Own"), _tenant(api, "Other")
    made = created(_customer(api, own).post("/v1/webhooks", json=_loopback()))
    otto = _customer(api, other, "otto")
    hook = f"/v1/webhooks/{made['id']}"
    for response in (
        otto.get(hook), otto.patch(hook, json={"status": "disabled"}),
        otto.request("DELETE", hook), otto.post(f"{hook}/rotate-secret"),
        otto.get(f"{hook}/deliveries"), api.user("officer", "olga").get(hook),
    ):
        problem(response, 404)
    assert ok(otto.get("/v1/webhooks"))["items"] == []
    assert ok(_customer(api, own).get(hook))["status"] == "active"


def test_a_tenant_has_at_most_twenty_subscriptions(loopback_api: Api) -> None:
    carla = _customer(loopback_api, _tenant(loopback_api))
    for port in range(20):
        created(carla.post("/v1/webhooks", json=_loopback(9000 + port)))
    assert "20" in problem(carla.post("/v1/webhooks", json=_loopback()), 409)["detail"]


def test_a_secret_bearing_answer_refuses_an_idempotency_key_rather_than_keep_the_secret(
    loopback_api: Api,
) -> None:
    carla = _customer(loopback_api, _tenant(loopback_api))
    response = carla.post("/v1/webhooks", json=_loopback(), headers={"Idempotency-Key": "k1"})
    assert fields_named(response) == {"Idempotency-Key"}
    assert ok(carla.get("/v1/webhooks"))["items"] == []


def test_a_closed_tenants_customer_neither_reads_nor_changes_its_subscriptions(
    loopback_api: Api,
) -> None:
    api = loopback_api
    tenant = _tenant(api)
    carla = _customer(api, tenant)
    created(carla.post("/v1/webhooks", json=_loopback()))
    ok(api.user("officer", "olga").post(f"/v1/tenants/{tenant}/terminate"))
    assert "terminated" in problem(carla.get("/v1/webhooks"), 409)["detail"]
    assert "terminated" in problem(carla.post("/v1/webhooks", json=_loopback()), 409)["detail"]


def test_every_role_may_read_which_notices_there_are_and_who_may_subscribe(api: Api) -> None:
    listed = ok(api.user("staff", "sam").get("/v1/notice-types"))["items"]
    by_type = {item["type"]: item for item in listed}
    assert by_type["access.requested"]["subscribers"] == ["customer", "officer"]
    assert by_type["data_request.overdue"]["subscribers"] == ["officer"]
    assert by_type["erasure.requested"]["subscribers"] == ["system"]
    assert all(item["description"] for item in listed)


def test_a_delivery_is_listed_with_its_attempts_and_is_sent_again_under_the_same_id(
    loopback_api: Api,
) -> None:
    api = loopback_api
    tenant = _tenant(api)
    carla = _customer(api, tenant)
    with WebhookReceiver(answers=[500], check_timestamp=False) as receiver:
        made = created(carla.post("/v1/webhooks", json=_loopback(receiver.port)))
        receiver.secret = made["secret"]
        request_id = created(api.user("staff", "sam").post(
            f"/v1/tenants/{tenant}/access-requests", json=ACCESS
        ))["id"]

        first = receiver.wait_for(1)[0]
        listed = _deliveries_when(carla, made["id"], lambda d: d["attempt_count"] == 1)
        delivery = listed[0]
        assert delivery["id"] == first.headers["webhook-id"] and delivery["status"] == "pending"
        assert delivery["type"] == "access.requested" and delivery["last_status"] == 500
        # Still being tried (the clock stands still): not sent again on request.
        assert "pending" in problem(
            carla.post(f"/v1/webhook-deliveries/{delivery['id']}/redeliver"), 409
        )["detail"]

        api.clock.move(minutes=1)  # past the first wait (5 s and its jitter)
        receiver.wait_for(2)
        done = _deliveries_when(carla, made["id"], lambda d: d["status"] == "delivered")[0]
        detail = ok(carla.get(f"/v1/webhook-deliveries/{done['id']}"))
        assert [a["status"] for a in detail["attempts"]] == [500, 204]
        assert detail["payload"]["data"]["id"] == request_id

        ok(carla.patch(f"/v1/webhooks/{made['id']}", json={"status": "disabled"}))
        assert "disabled" in problem(
            carla.post(f"/v1/webhook-deliveries/{done['id']}/redeliver"), 409
        )["detail"]
        ok(carla.patch(f"/v1/webhooks/{made['id']}", json={"status": "active"}))
        again = carla.post(f"/v1/webhook-deliveries/{done['id']}/redeliver")
        assert again.status_code == 202 and again.json()["status"] == "pending"
        third = receiver.wait_for(3)[2]
        assert third.headers["webhook-id"] == first.headers["webhook-id"] and receiver.verified

    otto = _customer(api, _tenant(api, "Other"), "otto")
    problem(otto.get(f"/v1/webhook-deliveries/{done['id']}"), 404)
    problem(otto.post(f"/v1/webhook-deliveries/{done['id']}/redeliver"), 404)
    assert ok(api.user("officer", "olga").get(f"/v1/webhook-deliveries/{done['id']}"))


def _deliveries_when(user: User, hook: str, ready: Any) -> list[dict[str, Any]]:
    """The subscription's deliveries once the newest one is `ready`: the dispatcher records an
    attempt just after the receiver has answered it."""
    for _ in range(200):
        items = ok(user.get(f"/v1/webhooks/{hook}/deliveries"))["items"]
        if items and ready(items[0]):
            return items
        time.sleep(0.02)
    raise AssertionError(f"the delivery never became ready: {items}")
