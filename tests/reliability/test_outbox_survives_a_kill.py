"""Deliveries outlive the process that was sending them, on SQLite and PostgreSQL.

`ledger serve` runs the outbox in-process. Its receiver refuses (503) until every delivery has
been tried at least once; then the process is SIGKILLed, the receiver starts accepting, and a new
process is started on the same store. Each delivery arrives, none is lost, and each keeps the
`webhook-id` it was first tried with (receivers deduplicate on it). Every request the receiver got
is verified with the Standard Webhooks package, not the ledger's own code.
"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import LedgerProcesses, wait_until
from tests.webhook_receiver import WebhookReceiver

REQUESTS = 6
FAST = dict(
    LEDGER_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", LEDGER_OUTBOX_INTERVAL_SECONDS="0.05",
    LEDGER_WEBHOOK_RETRY_SECONDS=",".join(["0.2"] * 50),
    # A delivery being sent when the process died is leased for its timeout and a few seconds
    # more: then the next process sends it again.
    LEDGER_WEBHOOK_TIMEOUT_SECONDS="2",
)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite"
    return request.getfixturevalue("pg_url")


def test_pending_deliveries_arrive_after_a_kill_under_their_first_ids(
    ledger_processes: LedgerProcesses, database_url: str
) -> None:
    ledger_processes.prepare(database_url)
    first = ledger_processes.serve("first", database_url, **FAST)
    ledger_processes.wait_healthy(first)
    officer = first.client(ledger_processes.token("officer", "olga"))
    tenant = officer.post("/v1/tenants", json={"name": "Acme"}).json()["id"]
    customer = first.client(ledger_processes.token("customer", "carla", tenant))
    staff = first.client(ledger_processes.token("staff", "sam"))

    with WebhookReceiver(then=503) as hook:
        made = customer.post("/v1/webhooks", json={
            "url": hook.url, "types": ["access.requested"],
        })
        assert made.status_code == 201, made.text
        hook.secret = made.json()["secret"]
        for number in range(REQUESTS):
            asked = staff.post(f"/v1/tenants/{tenant}/access-requests", json={
                "scope": "read", "resources": [f"orders/{number}"], "reason": "a look",
                "duration_minutes": 60,
            })
            assert asked.status_code == 201, asked.text

        def every_delivery_tried() -> bool:
            return len({r.headers["webhook-id"] for r in hook.requests}) == REQUESTS

        wait_until(every_delivery_tried, "each delivery to be tried once", context=ledger_processes.logs)
        first.kill()
        tried = {r.headers["webhook-id"] for r in hook.requests}
        hook.from_now_on(204)

        second = ledger_processes.serve("second", database_url, **FAST)
        ledger_processes.wait_healthy(second)

        def accepted() -> set[str]:
            return {r.headers["webhook-id"] for r in hook.requests if r.answered == 204}

        wait_until(lambda: accepted() == tried, "every delivery to arrive", timeout=40,
                   context=ledger_processes.logs)
        assert hook.verified
        ids = {r.headers["webhook-id"] for r in hook.requests}
        assert ids == tried  # none lost, none sent under a new id
