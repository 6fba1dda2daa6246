"""Races between two API processes on one PostgreSQL database.

Two `ledger serve` processes share one database (as behind a load balancer); the test fires
requests at both at the same moment (a barrier releases them together) and then reads the
event store itself to see what was recorded.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import psycopg
import pytest

from api.bootstrap import Stores, open_stores
from tests.conftest import make_settings, with_database
from tests.reliability.conftest import AUTH_SECRET, LedgerProcess, LedgerProcesses, conninfo

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

T = TypeVar("T")
REQUESTS = 10
CHANGES = 50
IDENTICAL_POSTS = 20
PURPOSES = ("info_mail", "product_mail", "blog_mail", "profiling")


@dataclass
class TwoApis:
    apis: tuple[LedgerProcess, LedgerProcess]
    processes: LedgerProcesses
    stores: Stores

    def client(self, number: int, token: str) -> httpx.Client:
        return self.apis[number % 2].client(token, timeout=60)

    def token(self, role: str, actor: str, tenant: object = None) -> str:
        return self.processes.token(role, actor, tenant)

    def events(self, aggregate_id: str) -> list[Any]:
        return list(self.stores.ledger.events.get(uuid.UUID(aggregate_id)))

    def head(self) -> int:
        return int(self.stores.ledger.recorder.max_notification_id() or 0)


@pytest.fixture(scope="module")
def two_apis(pg_admin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoApis]:
    """Started once for the module: two API processes (LEDGER_RUN_WORKERS=false) and one
    worker for the read models, on a database of the module's own."""
    name = f"ledger_races_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(pg_admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(pg_admin, name)
    base = tmp_path_factory.mktemp("races")

    def settings_for(database_url: str) -> Any:
        return make_settings(database_url, base / "var", auth_secret=AUTH_SECRET)

    processes = LedgerProcesses(base, settings_for)
    stores = None
    try:
        settings = processes.prepare(url)
        apis = (
            processes.serve("api-a", url, LEDGER_RUN_WORKERS="false"),
            processes.serve("api-b", url, LEDGER_RUN_WORKERS="false"),
        )
        processes.worker("worker", url, "--no-sealer")
        processes.wait_healthy(*apis)
        stores = open_stores(settings)
        yield TwoApis(apis, processes, stores)
    finally:
        if stores is not None:
            stores.close()
        processes.end_all()
        with psycopg.connect(conninfo(pg_admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0..count-1)` in `count` threads released together."""
    start = threading.Barrier(count)

    def run(number: int) -> T:
        start.wait()
        return call(number)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def test_approving_and_denying_one_request_at_once_from_two_processes_records_one_decision(
    two_apis: TwoApis,
) -> None:
    with two_apis.client(0, two_apis.token("officer", "olga")) as officer:
        tenant = created(officer.post("/v1/tenants", json={"name": "Raced B.V."}))["id"]
    with two_apis.client(0, two_apis.token("staff", "sam")) as staff:
        requests = [
            created(staff.post(f"/v1/tenants/{tenant}/access-requests", json={
                "scope": "read", "resources": ["orders"], "reason": f"ticket {n}",
                "duration_minutes": 60,
            }))["id"]
            for n in range(REQUESTS)
        ]
    customer = two_apis.token("customer", "carla", tenant)
    clients = [two_apis.client(n, customer) for n in range(2)]
    try:
        for request_id in requests:
            approve, deny = at_once(2, lambda n, r=request_id: (
                clients[0].post(f"/v1/access-requests/{r}/approve", json={})
                if n == 0 else
                clients[1].post(f"/v1/access-requests/{r}/deny", json={"reason": "not now"})
            ))
            assert sorted([approve.status_code, deny.status_code]) == [200, 409], (
                approve.text, deny.text
            )
            loser = approve if approve.status_code == 409 else deny
            assert loser.headers["content-type"].startswith("application/problem+json")

            decisions = [
                type(event).__name__ for event in two_apis.events(request_id)
                if type(event).__name__ in ("Approved", "Denied")
            ]
            winner = "Approved" if approve.status_code == 200 else "Denied"
            assert decisions == [winner], f"one decision, the one that was answered 200: {decisions}"
    finally:
        for client in clients:
            client.close()


def test_fifty_concurrent_consent_changes_through_two_processes_are_all_recorded_in_order(
    two_apis: TwoApis,
) -> None:
    token = two_apis.token("system", "crm")
    with two_apis.client(0, token) as system:
        subject = created(system.post(
            "/v1/subjects", json={"name": "Jet", "email": "jet@example.org"}
        ))["id"]
    clients = [two_apis.client(n, token) for n in range(2)]

    def change(number: int) -> httpx.Response:
        purpose = PURPOSES[number % len(PURPOSES)]
        withdrawn = number % 3 == 0
        body = {"status": "withdrawn" if withdrawn else "given", "method": "web_form",
                "notice_version": f"n{number}"}
        return clients[number % 2].put(f"/v1/subjects/{subject}/consents/{purpose}", json=body)

    try:
        answers = at_once(CHANGES, change)
    finally:
        for client in clients:
            client.close()

    assert [a.status_code for a in answers] == [200] * CHANGES, [a.text for a in answers if a.status_code != 200]
    positions = [a.json()["position"] for a in answers]
    assert len(set(positions)) == CHANGES, "each change has its own place in the log"

    events = two_apis.events(subject)
    assert [e.originator_version for e in events] == list(range(1, CHANGES + 2)), "contiguous"
    changes = events[1:]
    assert sorted(int(e.notice_version[1:]) for e in changes) == list(range(CHANGES)), (
        "each change exactly once"
    )
    # In order: the log's order is the subject's version order, and each answer's position is
    # where its change really is.
    by_number = {int(a.json()["position"]): n for n, a in enumerate(answers)}
    recorded = [by_number[position] for position in sorted(by_number)]
    assert recorded == [int(e.notice_version[1:]) for e in changes]

    # The state everyone reads is the last change recorded for each purpose.
    with two_apis.client(1, token) as reader:
        for purpose in PURPOSES:
            last = [e for e in changes if e.purpose == purpose][-1]
            answer = reader.get(f"/v1/subjects/{subject}/consents/{purpose}",
                                params={"min_position": max(positions)})
            assert answer.status_code == 200, answer.text
            assert answer.json()["notice_version"] == last.notice_version
            assert answer.json()["allowed"] is (type(last).__name__ == "ConsentGiven")


def test_twenty_identical_posts_with_one_idempotency_key_across_two_processes_record_one_event(
    two_apis: TwoApis,
) -> None:
    token = two_apis.token("officer", "olga")
    clients = [two_apis.client(n, token) for n in range(2)]
    key = f"burst-{uuid.uuid4()}"
    before = two_apis.head()
    try:
        answers = at_once(IDENTICAL_POSTS, lambda n: clients[n % 2].post(
            "/v1/tenants", json={"name": "Once B.V."}, headers={"Idempotency-Key": key}
        ))
    finally:
        for client in clients:
            client.close()

    assert [a.status_code for a in answers] == [201] * IDENTICAL_POSTS, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1, "every caller got the same tenant"
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == IDENTICAL_POSTS - 1
    recorded = two_apis.stores.ledger.recorder.select_notifications(before + 1, 1000)
    assert [str(n.originator_id) for n in recorded] == [answers[0].json()["id"]], "one event"
