"""Closing the SQLite read-side store while a background thread (the sweeper, a runner) is in
the middle of a statement must end that thread's work cleanly, never crash the process.

The crash it guards against is a segmentation fault inside sqlite3, so the scenario runs in a
child process and the test reads how that child ended."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCENARIO = textwrap.dedent(
    """
    import sqlite3, sys, threading, time
    from projections.database import SqliteDatabase

    db = SqliteDatabase(sys.argv[1])
    db.executescript("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    db.execute("INSERT INTO t VALUES (1)")
    stop = threading.Event()

    def busy():
        # A slow statement, run over and over, as the sweep's deletes are; a statement that
        # meets the closed connection fails, and the loop goes on as the sweeper's does.
        while not stop.is_set():
            try:
                db.fetchall(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "WHERE x < 100000) SELECT count(*) FROM c"
                )
            except sqlite3.Error:
                pass

    worker = threading.Thread(target=busy, daemon=True)
    worker.start()
    for _ in range(30):
        time.sleep(0.02)
        db.close()
    stop.set()
    worker.join(30)
    assert not worker.is_alive(), "the worker is stuck"
    db.close()
    print("closed 30 times under a running statement")
    """
)


def test_closing_the_store_under_a_running_statement_stops_that_thread_cleanly(
    tmp_path: Path,
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", SCENARIO, str(tmp_path / "ledger.sqlite")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert "closed 30 times" in child.stdout
