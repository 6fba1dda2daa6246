"""A real `ledger worker` process, killed with SIGKILL in the middle of a batch, then restarted:
in the end every read-model row is what a fresh rebuild makes. Real processes, real PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from api.cli_projections import start_read_side
from api.settings import Settings
from api.wiring import Stores, open_stores
from domain.clock import MovableClock
from domain.subject import Subject
from projections.rebuild import check
from projections.runner import DELAY_VARIABLE
from projections.tables import ALL_TABLES
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

SUBJECTS, ACCESSES = 100, 700


def _write_many(stores: Stores, clock: MovableClock) -> int:
    """About 900 events (two batches), saved in bulk so the test spends its time on the worker."""
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    subjects = []
    for n in range(SUBJECTS):
        subject = Subject.register(tenant, f"Person {n}", f"p{n}@example.org", None, "app", clock.now())
        stores.keys.create(subject.id, tenant_id=tenant)
        subject.give_consent("info_mail", "web_form", "v1", "app", clock.now())
        subjects.append(subject)
    ledger.save(*subjects)
    request_id = ledger.request_access(tenant, "staff-1", "read", ["orders"], "t").aggregate.id
    ledger.approve_access(request_id, "customer-1")
    request = ledger.access_request(request_id)
    tenant_now = ledger.tenant(tenant)
    for n in range(ACCESSES):
        clock.move(seconds=1)
        request.use("staff-1", f"orders/{n}", "read", tenant_now, clock.now())
    ledger.save(request)
    return int(ledger.recorder.max_notification_id())


def _start_worker(settings: Settings, cwd: Path, delay_ms: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": settings.database_url,
        "LEDGER_DATA_DIR": str(settings.data_dir),  # the same master key file as this test
        DELAY_VARIABLE: str(delay_ms),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker", "--no-sealer"], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _positions(stores: Stores) -> dict[str, int]:
    return {name: int(p) for name, p in stores.db.fetchall("SELECT name, position FROM projection_tracking")}


def _batch_half_written(stores: Stores) -> bool:
    """Some backend has an open transaction that has written read-model rows, not yet the
    tracking position: the worker is in the middle of a batch."""
    read_model = f"^(INSERT INTO|UPDATE) ({'|'.join(t.name for t in ALL_TABLES)}) "
    row = stores.db.fetchone(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL AND query ~ %s",
        (read_model,),
    )
    return row is not None and row[0] > 0


def _until(condition: Any, worker: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None or time.monotonic() > deadline:
            output = worker.stdout.read().decode() if worker.poll() is not None and worker.stdout else ""
            pytest.fail(f"the worker never got to: {what}\n{output}")
        time.sleep(0.01)


def _kill(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL


def test_a_worker_killed_mid_batch_and_restarted_loses_no_update_and_applies_none_twice(
    pg_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(pg_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        start_read_side(stores, settings, run_projections=False)  # the tables, before any worker
        last = _write_many(stores, clock)

        # Killed inside a batch, after an earlier one has committed.
        workers.append(_start_worker(settings, tmp_path, delay_ms=2))
        _until(
            lambda: min(_positions(stores).values()) > 0 and _batch_half_written(stores),
            workers[-1], "the middle of a batch after a committed one",
        )
        _kill(workers[-1])
        reached = _positions(stores)
        assert 0 < min(reached.values()) < last
        side = start_read_side(stores, settings, run_projections=False)
        halfway = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert halfway.ok, "the rows are exactly those of the committed positions: no half batch"
        assert halfway.positions == reached

        # Restarted at full speed: it resumes, finishes, and stops cleanly on SIGTERM.
        workers.append(_start_worker(settings, tmp_path, delay_ms=0))
        _until(lambda: min(_positions(stores).values()) == last, workers[-1], "the end of the log")
        workers[-1].send_signal(signal.SIGTERM)
        assert workers[-1].wait(timeout=20) == 0

        counts = {
            table: stores.db.fetchone(f"SELECT COUNT(*) FROM {table}")[0]  # type: ignore[index]
            for table in ("subject_profiles", "consent_history", "email_lookup", "access_log")
        }
        assert counts == {
            "subject_profiles": SUBJECTS, "consent_history": SUBJECTS,
            "email_lookup": SUBJECTS, "access_log": ACCESSES,
        }
        report = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
        assert report.rows_compared > SUBJECTS * 3 + ACCESSES
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        stores.close()
