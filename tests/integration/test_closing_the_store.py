"""Closing the SQLite read-side store while a background thread (the sweeper, a runner) is in
the middle of a statement must let that statement finish, never pull the connection from under
it (which crashed the interpreter with a segmentation fault before `close()` waited).

The scenario runs in a child process, so that a crash is a return code the test can read. Its
handshake: the busy thread's statement has run its first step and is about to fetch the rest
(a profile hook stops the thread right there, holding nothing of SQLite's own), and only then
does the close start. A close that waits cannot return while the thread is stopped; one that
does not wait returns at once and the thread's fetch meets a closed connection."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCENARIO = textwrap.dedent(
    """
    import sqlite3, sys, threading
    from projections.storage.sqlite import SqliteDatabase

    db = SqliteDatabase(sys.argv[1])
    db.executescript("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    for n in range(100):
        db.execute("INSERT INTO t VALUES (%s)", (n,))
    in_flight, close_returned = threading.Event(), threading.Event()
    outcome = {}

    def stop_before_the_fetch(frame, event, arg):
        if event == "c_call" and getattr(arg, "__name__", "") == "fetchall":
            sys.setprofile(None)
            in_flight.set()
            # A close that waits for the statement cannot return meanwhile: given a second,
            # one that does not wait always does.
            outcome["close returned under the statement"] = close_returned.wait(1.0)

    def busy():
        sys.setprofile(stop_before_the_fetch)
        try:
            outcome["rows"] = len(db.fetchall("SELECT n FROM t ORDER BY n"))
        except sqlite3.Error as error:
            outcome["rows"] = repr(error)
        outcome["statement finished before the close returned"] = not close_returned.is_set()

    worker = threading.Thread(target=busy)
    worker.start()
    assert in_flight.wait(10), "the statement never started"
    db.close()
    close_returned.set()
    worker.join(10)
    assert not worker.is_alive(), "the worker is stuck"
    print(outcome)
    """
)


def test_closing_the_store_waits_for_the_statement_in_flight_and_then_closes(
    tmp_path: Path,
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", SCENARIO, str(tmp_path / "ledger.sqlite")],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2],
    )
    assert child.returncode == 0, (child.returncode, child.stderr[-2000:])
    assert child.stdout.strip() == str({
        "close returned under the statement": False,
        "rows": 100,
        "statement finished before the close returned": True,
    })
