"""A real `ledger worker` process killed with SIGKILL at a chosen point of a batch, then
restarted: after the kill the read models are exactly as of the committed position, and after
the restart every row is what a fresh rebuild makes. Real processes, SQLite and PostgreSQL.

The kill comes from the runner's crash points (projections/read_models/crash_points.py), not from outside:
a signal sent from here lands wherever the scheduler puts it, which hid a runner that commits
the rows and the position in two transactions (docs/mutations/projection-two-transactions.patch
is that runner; "before-commit" catches it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.bootstrap import start_read_side
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.subject import Subject
from projections.read_models.crash_points import CRASH_VARIABLE
from projections.read_models.rebuild import check
from projections.read_models.runner import BATCH_SIZE
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

SUBJECTS, ACCESSES = 100, 700
# The worker must import the code beside this file, also when this file runs from a copy of
# the repository (a mutation run) while the virtual environment's editable install names
# another: PYTHONPATH comes before the install.
REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # seconds: the machine is shared, a worker may start slowly

# Each kill lands after the log's first batch has committed, so the committed position is the
# end of that batch: between 0 and the head.
CRASHES = [
    # Rows written, transaction open.
    pytest.param("rows-written:2", id="inside-a-batch"),
    # Rows and tracking UPDATE written, commit not yet asked for.
    pytest.param("before-commit:2", id="between-a-batchs-rows-and-its-commit"),
    # The first batch has just committed.
    pytest.param("after-commit:1", id="right-after-a-commit"),
]


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


class _Worker:
    """`ledger worker --no-sealer` in its own process, its output in a file (a pipe nobody
    reads while it runs could fill up and stall it)."""

    def __init__(self, settings: Settings, log: Path, crash: str | None = None) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.getenv("PYTHONPATH")])),
            "LEDGER_DATABASE_URL": settings.database_url,
            "LEDGER_DATA_DIR": str(settings.data_dir),  # the same master key file as this test
        }
        env.pop(CRASH_VARIABLE, None)
        if crash is not None:
            env[CRASH_VARIABLE] = crash
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli.main", "worker", "--no-sealer"],
                cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not end within {TIMEOUT}s\n{self.output()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _positions(stores: Stores) -> dict[str, int]:
    """The read models' positions (the outbox, a tracked consumer of its own, is not their
    business here)."""
    rows = stores.db.fetchall("SELECT name, position FROM projection_tracking WHERE name <> 'outbox'")
    return {name: int(position) for name, position in rows}


def _until_caught_up(stores: Stores, worker: _Worker, last: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while min(_positions(stores).values()) < last:
        if worker.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the restarted worker never reached {last}\n{worker.output()}")
        time.sleep(0.05)


def _counts(stores: Stores) -> dict[str, int]:
    tables = ("subject_profiles", "consent_history", "email_lookup", "access_log")
    return {
        table: stores.db.fetchone(f"SELECT COUNT(*) FROM {table}")[0]  # type: ignore[index]
        for table in tables
    }


@pytest.mark.parametrize("crash", CRASHES)
def test_a_worker_killed_at_any_point_of_a_batch_resumes_on_restart_with_no_row_lost_or_doubled(
    crash: str, durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    workers: list[_Worker] = []
    try:
        side = start_read_side(stores, settings, run_projections=False)  # tables before workers
        last = _write_many(stores, clock)
        first_batch_end = stores.ledger.recorder.select_notifications(1, BATCH_SIZE)[-1].id
        assert first_batch_end < last, "the log must take more than one batch"

        workers.append(_Worker(settings, tmp_path / "killed.log", crash))
        assert workers[-1].wait() == -signal.SIGKILL, workers[-1].output()
        point, _, batch = crash.partition(":")
        assert f"crash point {point} reached at batch {batch}" in workers[-1].output()

        # Exactly the first batch is committed: its rows, its position, nothing of the second.
        reached = _positions(stores)
        assert reached == {name: first_batch_end for name in side.runner.names}
        halfway = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert halfway.positions == reached
        assert halfway.ok, (
            "the rows are not those of the committed positions: "
            f"{[d.describe() for d in halfway.differences[:5]]}"
        )

        # Restarted without a crash point: it resumes from there, finishes, stops on SIGTERM.
        workers.append(_Worker(settings, tmp_path / "restarted.log"))
        _until_caught_up(stores, workers[-1], last)
        workers[-1].process.send_signal(signal.SIGTERM)
        assert workers[-1].wait() == 0, workers[-1].output()

        assert _counts(stores) == {
            "subject_profiles": SUBJECTS, "consent_history": SUBJECTS,
            "email_lookup": SUBJECTS, "access_log": ACCESSES,
        }
        report = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert report.positions == {name: last for name in side.runner.names}
        assert report.ok, [d.describe() for d in report.differences[:5]]
        assert report.rows_compared > SUBJECTS * 3 + ACCESSES
    finally:
        for worker in workers:
            worker.kill()
        stores.close()
