"""The database going away: PostgreSQL is restarted, or crashes, under a steady write load.

A throwaway cluster of the test's own (initdb/pg_ctl on a free port, durable settings: see
ThrowawayPostgres) serves one `ledger serve` process, which also runs the projections and the
sealer in-process, so its background threads face the outage too. Writers register subjects,
each with its own `Idempotency-Key`, and retry a 503 with the same key, as a client should. The
cluster goes away (stopped `-m fast`, a clean restart; stopped `-m immediate`, a crash; or its
postmaster SIGKILLed), stays down until the API has said 503, and is started again. Then
every write answered 201 is in the log once, and its retry is answered the same again. Only the
crashes lose what was never on the disk: a ledger that answered 201 before its commit was
durable (docs/mutations/synchronous-commit-off.patch) passes the clean restart and fails them.
A crash may also cut a commit's answer off after the commit itself (projections/
in_doubt_commits.py and api/http/idempotency.py `_claim` say what the ledger then does).

A request cut off by the outage may leave its Idempotency-Key claimed and unanswered;
tests/integration/test_idempotency_claims.py shows that such a claim lapses after two minutes
instead of refusing the client's retries for a day.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest

from api.bootstrap import open_stores
from tests.reliability.conftest import (
    LedgerProcesses,
    ThrowawayPostgres,
    wait_until,
)

WRITERS = 4
WRITES_BEFORE = 20
WRITES_PAUSED = 8  # acknowledged between pausing the WAL writer and the outage
WRITES_AFTER = 20
GIVE_UP_SECONDS = 60.0  # a single write retried for longer than this is a failure


@dataclass
class Answers:
    """Everything the API answered, shared by the writer threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[int] = field(default_factory=Counter)
    unavailable_without_retry_after: int = 0
    acknowledged: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (id, position)
    attempted: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def record(self, response: httpx.Response | None) -> None:
        with self.lock:
            if response is None:
                self.statuses[0] += 1  # no answer at all (connection reset)
                return
            self.statuses[response.status_code] += 1
            if response.status_code == 503 and not response.headers.get("retry-after"):
                self.unavailable_without_retry_after += 1

    @property
    def unavailable(self) -> int:
        with self.lock:
            return self.statuses[503]

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def body_for(number: str) -> dict[str, str]:
    return {"name": f"Person {number}", "email": f"person-{number}@example.org"}


def write_until_acknowledged(
    client: httpx.Client, key: str, answers: Answers, number: str
) -> None:
    body = body_for(number)
    with answers.lock:
        answers.attempted.add(key)
    deadline = threading.Event()
    timer = threading.Timer(GIVE_UP_SECONDS, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            try:
                response = client.post("/v1/subjects", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                answers.record(None)
                deadline.wait(0.2)
                continue
            answers.record(response)
            if response.status_code == 201:
                with answers.lock:
                    answers.acknowledged[key] = (response.json()["id"], response.json()["position"])
                return
            if response.status_code != 503:
                with answers.lock:
                    answers.failures.append(f"{key}: {response.status_code} {response.text}")
                return
            # What Retry-After asks for, shortened: the test has no time to lose.
            deadline.wait(0.2)
        with answers.lock:
            answers.failures.append(f"{key}: still not acknowledged after {GIVE_UP_SECONDS} s")
    finally:
        timer.cancel()


def take_down(pg: ThrowawayPostgres, how: str) -> None:
    if how == "killed":
        pg.crash()
    else:
        pg.stop(how)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("how", ["fast", "immediate", "killed"],
                         ids=["stopped-fast", "stopped-immediately", "postmaster-killed"])
def test_a_database_restart_under_write_load_answers_503_never_500_and_loses_or_doubles_nothing(
    throwaway_postgres: ThrowawayPostgres, ledger_processes: LedgerProcesses, how: str
) -> None:
    pg, procs = throwaway_postgres, ledger_processes
    settings = procs.prepare(pg.url)
    api = procs.serve("api", pg.url)
    procs.wait_healthy(api)
    token = procs.token("system", "crm")
    answers = Answers()
    stop = threading.Event()

    def writer(number: int) -> None:
        with api.client(token, timeout=60) as client:
            sequence = 0
            while not stop.is_set():
                write_until_acknowledged(client, f"w{number}-{sequence}", answers, f"{number}-{sequence}")
                sequence += 1

    health: Counter[int] = Counter()

    def prober() -> None:
        # Longer than the 10 s a health check waits for a connection before it says 503.
        with httpx.Client(base_url=api.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    response = client.get("/healthz")
                    answers.record(response)
                    health[response.status_code] += 1
                except httpx.TransportError:
                    answers.record(None)
                stop.wait(0.1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    threads.append(threading.Thread(target=prober))
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: answers.count() >= WRITES_BEFORE, "writes before the outage",
                   context=procs.logs)
        # From here on a write reaches the disk only if its own commit flushed the WAL
        # (ThrowawayPostgres): a ledger that answers 201 before then loses these in a crash.
        pg.pause_wal_writer()
        paused = answers.count()
        wait_until(lambda: answers.count() >= paused + WRITES_PAUSED,
                   "writes with the WAL writer paused", context=procs.logs)

        take_down(pg, how)
        # Down until the API has said so at least once (and for two seconds at least).
        wait_until(lambda: answers.unavailable > 0, "a 503 while the database is down",
                   timeout=20, context=procs.logs)
        threading.Event().wait(2)
        pg.start()

        # It recovers by itself: the same process goes on acknowledging writes.
        during = answers.count()
        wait_until(lambda: answers.count() >= during + WRITES_AFTER, "writes after the restart",
                   timeout=40, context=lambda: f"{answers.statuses}\n{procs.logs()}\n{pg.server_log()}")
        assert api.alive, "the API process did not survive the restart"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=GIVE_UP_SECONDS + 10)

    # Every acknowledged write is in the log, and none is in it twice. Lost writes are looked
    # for first: they explain the failures that follow from them, not the other way round.
    stores = open_stores(settings)
    try:
        registered = Counter(
            str(n.originator_id)
            for n in stores.ledger.recorder.select_notifications(1, 1_000_000)
            if n.topic.endswith("Subject.Registered")
        )
    finally:
        stores.close()
    acknowledged_ids = [subject_id for subject_id, _ in answers.acknowledged.values()]
    lost = set(acknowledged_ids) - set(registered)
    assert not lost, f"{len(lost)} of {len(acknowledged_ids)} writes answered 201 are lost"

    assert not answers.failures, answers.failures[:5]
    assert answers.statuses[500] == 0, f"{answers.statuses}\n{procs.logs()}"
    assert set(answers.statuses) <= {200, 201, 503}, answers.statuses
    assert answers.unavailable_without_retry_after == 0
    assert answers.attempted == set(answers.acknowledged), "every write was acknowledged in the end"
    assert health[503] > 0 or answers.statuses[503] > 0

    assert len(set(acknowledged_ids)) == len(acknowledged_ids), "one subject per key"
    assert set(registered) <= set(acknowledged_ids), "nothing in the log that was not answered"
    assert sum(registered.values()) == len(answers.attempted), "nothing twice"
    head = max(position for _, position in answers.acknowledged.values())

    # A client that lost an answer on its way retries: it gets the same answer, not a second
    # subject (the stored answer is as durable as the write it answers).
    with api.client(token, timeout=60) as client:
        for key, (subject_id, _) in sorted(answers.acknowledged.items()):
            again = client.post("/v1/subjects", json=body_for(key[1:]),
                                headers={"Idempotency-Key": key})
            replayed = again.headers.get("idempotent-replayed")
            assert (again.status_code, replayed) == (201, "true"), f"{key}: {again.text}"
            assert again.json()["id"] == subject_id, key

    # The background work came back too: the read side and the sealer reach the last write.
    with api.client(procs.token("officer", "olga")) as officer:
        assert officer.get("/healthz").status_code == 200
        listed = officer.get("/v1/subjects", params={"limit": 1000, "min_position": head})
        assert listed.status_code == 200, listed.text
        assert {item["id"] for item in listed.json()["items"]} == set(acknowledged_ids)
    with api.client(procs.token("auditor", "ada")) as auditor:
        checkpoint = auditor.get("/v1/audit/checkpoint", params={"min_position": head})
        assert checkpoint.status_code == 200, checkpoint.text
    assert api.stop(), api.log()[-3000:]
    verified = procs.cli(pg.url, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
