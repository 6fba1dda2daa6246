"""One of two API processes on one SQLite file SIGKILLed under a consent write load.

The processes write in turns (projections/storage/sqlite_write_turns.py): an exclusive `flock`
on `<file>.writes.lock` around every writing transaction. A process killed while it holds the
turn, or in the middle of a commit, must hold nobody up: the kernel releases its lock, SQLite
rolls its unfinished transaction back, and the other process goes on writing. Nothing it had
answered may be lost: every decision answered 200 is the stored event at the position it was
answered with, for that subject and with that decision.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from pathlib import Path

import httpx

from api.bootstrap import open_stores
from tests.reliability.conftest import LedgerProcesses, wait_until

WRITERS = 6
BEFORE, AFTER = 120, 120  # decisions answered before the kill, and after it


def _workers(parent: int) -> list[int]:
    """The API processes `serve` spawned (not multiprocessing's resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True)
    pids = [int(pid) for pid in found.stdout.split()]
    return [pid for pid in pids if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def test_a_killed_api_process_on_sqlite_loses_no_answered_consent_and_the_other_writes_on(
    ledger_processes: LedgerProcesses,
) -> None:
    procs = ledger_processes
    url = f"sqlite:///{procs.base}/store/ledger.sqlite"
    settings = procs.prepare(url)
    api = procs.serve("api", url, "--workers", "2")
    answered: list[tuple[str, str, int]] = []
    refused: list[str] = []
    stop = threading.Event()
    try:
        procs.wait_healthy(api)
        token = procs.token("system", "crm")
        with api.client(token) as client:
            subjects = [client.post("/v1/subjects", json={
                "name": f"Person {n}", "email": f"p{n}@example.org"}).json()["id"]
                for n in range(WRITERS)]

        def write(subject: str) -> None:
            turn = 0
            while not stop.is_set():
                status = ("given", "withdrawn")[turn % 2]
                body = {"status": status, "method": "web_form", "notice_version": "2026-01"}
                try:
                    # A new connection each time: after the kill, the survivor takes them all.
                    with api.client(token, timeout=60) as client:
                        answer = client.put(f"/v1/subjects/{subject}/consents/info_mail", json=body)
                except httpx.HTTPError:
                    continue  # cut off by the kill: never answered, so nothing is promised
                if answer.status_code == 200:
                    answered.append((subject, status, answer.json()["position"]))
                    turn += 1
                elif answer.status_code != 503:
                    refused.append(f"{answer.status_code} {answer.text}")

        writers = [threading.Thread(target=write, args=(s,), daemon=True) for s in subjects]
        for writer in writers:
            writer.start()
        wait_until(lambda: len(answered) >= BEFORE or refused, "decisions before the kill",
                   timeout=120, context=procs.logs)
        workers = _workers(api.popen.pid)
        assert len(workers) == 2, f"expected two API processes, found {workers}"
        os.kill(workers[0], signal.SIGKILL)
        killed_at = len(answered)
        wait_until(lambda: len(answered) >= killed_at + AFTER or refused,
                   "decisions after one process was killed", timeout=120, context=procs.logs)
        stop.set()
        for writer in writers:
            writer.join(timeout=90)
    finally:
        stop.set()
        if api.alive:
            os.killpg(api.popen.pid, signal.SIGKILL)
            api.popen.wait(timeout=30)
    assert not refused, refused[:5]

    stores = open_stores(settings)
    try:
        for subject, status, position in answered:
            stored = stores.ledger.recorder.select_notifications(start=position, limit=1)
            assert stored and stored[0].id == position, f"position {position} is not stored"
            assert str(stored[0].originator_id) == subject, f"position {position}: another subject"
            expected = "ConsentGiven" if status == "given" else "ConsentWithdrawn"
            assert stored[0].topic.endswith(expected), (position, stored[0].topic)
    finally:
        stores.close()
