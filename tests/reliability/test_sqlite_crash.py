"""The ledger's own process dying on SQLite: `ledger serve` SIGKILLed under a steady write load.

SQLite runs inside the process, so nothing outside it finishes what it started: a write is
durable once its commit has handed its pages to the operating system (the WAL file), and a
SIGKILL loses whatever the process had decided but not yet committed. Writers register subjects
with an `Idempotency-Key` each, as the outage test does, until the process is killed. Then:

- every write answered 201 is in the SQLite file, and no key made two subjects; each reads
  back with the name it was written with (its data key, stored apart, survived too);
- a client that retries an answered write (its answer lost on the way) gets that same answer
  from the restarted server, not a second subject: the stored answer was as durable as the
  write (docs/mutations/idempotency-answer-after-the-response.patch stores it after
  answering, and this test fails);
- the restarted server serves, its read side and sealer reach the last write, and `ledger
  verify` passes.

Writes cut off by the kill are not retried: their keys stay claimed for ABANDONED_AFTER (two
minutes), as tests/integration/test_idempotency_claims.py shows.

What a SIGKILL cannot show: the operating system outlives the process, so whatever SQLite has
written survives whether or not it was synced (`PRAGMA synchronous` is for power failures).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import httpx
import pytest

from api.settings import Settings
from api.bootstrap import open_stores
from tests.reliability.conftest import LedgerProcess, LedgerProcesses, wait_until

WRITERS = 4
WRITES_BEFORE = 40  # acknowledged before the kill
WRITES_AFTER = 10


@dataclass
class Writes:
    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> subject id
    cut_off: set[str] = field(default_factory=set)  # sent, never answered: the process died
    failures: list[str] = field(default_factory=list)

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)


def body_for(key: str) -> dict[str, str]:
    return {"name": f"Person {key}", "email": f"person-{key}@example.org"}


def post(client: httpx.Client, key: str) -> httpx.Response:
    return client.post("/v1/subjects", json=body_for(key), headers={"Idempotency-Key": key})


def write_until_killed(api: LedgerProcess, token: str, number: int, writes: Writes) -> None:
    with api.client(token, timeout=60) as client:
        for sequence in range(100_000):
            key = f"w{number}-{sequence}"
            try:
                response = post(client, key)
            except httpx.TransportError:
                with writes.lock:
                    writes.cut_off.add(key)
                return  # the process is gone: this writer's part is over
            with writes.lock:
                if response.status_code == 201:
                    writes.acknowledged[key] = response.json()["id"]
                else:
                    writes.failures.append(f"{key}: {response.status_code} {response.text}")
                    return


def registered_subjects(settings: Settings) -> Counter[str]:
    """Subject id -> how many Registered events name it, read from the file itself."""
    stores = open_stores(settings)
    try:
        return Counter(
            str(n.originator_id)
            for n in stores.ledger.recorder.select_notifications(1, 1_000_000)
            if n.topic.endswith("Subject.Registered")
        )
    finally:
        stores.close()


def names(settings: Settings, subjects: list[str]) -> dict[str, str]:
    """The subjects' names as the file gives them: "[erased]" if a data key (stored apart from
    the events) did not survive."""
    stores = open_stores(settings)
    try:
        return {subject: stores.ledger.subject(UUID(subject)).name for subject in subjects}
    finally:
        stores.close()


@pytest.mark.slow
def test_a_killed_sqlite_ledger_keeps_every_answered_write_and_answers_it_again_after_a_restart(
    ledger_processes: LedgerProcesses,
) -> None:
    procs = ledger_processes
    url = f"sqlite:///{procs.base}/store/ledger.sqlite"
    settings = procs.prepare(url)
    api = procs.serve("api", url)
    procs.wait_healthy(api)
    token = procs.token("system", "crm")
    writes = Writes()
    writers = [threading.Thread(target=write_until_killed, args=(api, token, n, writes))
               for n in range(WRITERS)]
    for writer in writers:
        writer.start()
    try:
        wait_until(lambda: writes.count() >= WRITES_BEFORE or writes.failures,
                   "writes before the kill", timeout=60, context=procs.logs)
    finally:
        api.kill()  # SIGKILL under the load: the writers keep requests in flight
        for writer in writers:
            writer.join(timeout=90)
    assert not writes.failures, f"{writes.failures[:5]}\n{procs.logs()}"

    # Every answered write is in the file, once, and readable; an unanswered one at most once.
    registered = registered_subjects(settings)
    acknowledged = set(writes.acknowledged.values())
    lost = acknowledged - set(registered)
    assert not lost, f"{len(lost)} of {len(acknowledged)} writes answered 201 are lost"
    assert all(registered[subject] == 1 for subject in acknowledged), "one event per subject"
    assert len(registered) <= len(writes.acknowledged) + len(writes.cut_off), "no key made two"
    written = {subject: body_for(key)["name"] for key, subject in writes.acknowledged.items()}
    assert names(settings, list(written)) == written, "each reads back: its data key survived"

    # The restarted server answers every answered write's retry with the same answer.
    again = procs.serve("api-again", url)
    procs.wait_healthy(again)
    with again.client(token, timeout=60) as client:
        for key, subject in sorted(writes.acknowledged.items()):
            replay = post(client, key)
            replayed = replay.headers.get("idempotent-replayed")
            assert (replay.status_code, replayed) == (201, "true"), (
                f"{key}, answered 201 before the kill, now: {replay.status_code} {replay.text}")
            assert replay.json()["id"] == subject, key
        after = [post(client, f"after-{n}") for n in range(WRITES_AFTER)]
    assert [response.status_code for response in after] == [201] * WRITES_AFTER
    head = max(response.json()["position"] for response in after)

    # Its read side and its sealer caught up with all of it, the kill's leftovers included.
    with again.client(procs.token("officer", "olga")) as officer:
        listed = officer.get("/v1/subjects", params={"limit": 1000, "min_position": head})
        assert listed.status_code == 200, listed.text
        assert acknowledged <= {item["id"] for item in listed.json()["items"]}
    with again.client(procs.token("auditor", "ada")) as auditor:
        checkpoint = auditor.get("/v1/audit/checkpoint", params={"min_position": head})
        assert checkpoint.status_code == 200, checkpoint.text
    assert again.stop(), again.log()[-3000:]

    assert len(registered_subjects(settings)) == len(registered) + WRITES_AFTER, (
        "the retries registered nobody")
    verified = procs.cli(url, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
