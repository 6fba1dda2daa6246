"""A backup taken while the ledger records events holds, byte for byte and without a gap, every
event the live store held when the backup began.

`ledger backup` runs while a writer keeps recording events through the ledger. The backup is
restored (SQLite: the copied file; PostgreSQL: pg_restore into a fresh database) and its stored
event rows are compared with the live store's, from position 1 to the backup's last one. A copy
that is consistent but old (SQLite's main database file without its -wal file, say) passes
`ledger verify` and rebuilds its read models, so only this comparison with the head read just
before the backup began catches it (docs/mutations/backup-drops-the-wal.patch).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.cli import backup as cli_backup
from api.app import create_app
from domain.clock import MovableClock
from projections.storage.sqlite import sqlite_path
from tests.reliability.conftest import conninfo
from tests.reliability.test_backup_restore import (  # noqa: F401 (two of them are fixtures)
    Cli,
    Place,
    _ok,
    _restore,
    fill,
    fresh_pg_database,
    ledger_cli,
)

# Events the writer records past the held snapshot before the backup begins (about ten WAL
# pages each): all of them are in the -wal file only when the backup runs.
WRITES_BEFORE_THE_BACKUP = 40


def _query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """`sql` on the store at `url` through a connection of its own; `{position}` stands for
    the event position column, `{events}` for the event table (the eventsourcing library names
    it after the application on PostgreSQL: ledger_events; on SQLite: stored_events)."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(sqlite_path(url))
        try:
            return conn.execute(
                sql.format(position="rowid", events="stored_events").replace("%s", "?"), params
            ).fetchall()
        finally:
            conn.close()
    with psycopg.connect(conninfo(url)) as pg:
        return pg.execute(
            sql.format(position="notification_id", events="ledger_events"), params
        ).fetchall()


def stored_events(url: str, up_to: int) -> list[tuple[Any, ...]]:
    """Every stored event row at positions 1..up_to, as the store holds it: position,
    originator id, version, topic and the state bytes (ciphertext, compressed)."""
    return _query(url, "SELECT {position}, originator_id, originator_version, topic, state "
                       "FROM {events} WHERE {position} <= %s ORDER BY {position}", up_to)


def last_position(url: str) -> int:
    return int(_query(url, "SELECT max({position}) FROM {events}")[0][0] or 0)


@contextmanager
def an_old_snapshot_held(url: str) -> Iterator[int]:
    """A reader that keeps one read transaction open, as a long report or a sqlite3 shell
    left in a transaction does. SQLite never checkpoints WAL frames past an open reader's
    snapshot into the main file, whatever the live connections' wal_autocheckpoint (1000
    pages: about a hundred writes here) or an erasure's TRUNCATE checkpoint try: so every
    event recorded after it is in the -wal file only, and a backup that drops the -wal file
    ends here at the latest, however the writes and checkpoints interleave. Yields that
    position."""
    reader = sqlite3.connect(sqlite_path(url), isolation_level=None)
    try:
        reader.execute("BEGIN")
        row = reader.execute("SELECT max(rowid) FROM stored_events").fetchone()
        yield int(row[0] or 0)
    finally:
        reader.execute("COMMIT")
        reader.close()


def _a_write_after(count: Callable[[], int]) -> None:
    seen, deadline = count(), time.monotonic() + 10
    while count() == seen and time.monotonic() < deadline:
        time.sleep(0.001)


def watch_the_steps(
    monkeypatch: pytest.MonkeyPatch, count: Callable[[], int], every_step: bool
) -> list[str]:
    """Records which way `backup_sqlite` copied ("steps", then "one step" if it fell back).
    Once the backup has begun, the copy waits until the writer has recorded one more event
    (`count` grows), so that the ledger writes during every backup whatever the scheduling.
    With `every_step`, after each step too: the store then changes between every two steps,
    SQLite restarts the copy each time, and after RESTARTS_BEFORE_ONE_STEP restarts the backup
    takes its one-step path."""
    watch, taken = cli_backup._watch, ["steps"]

    def watching(progress: cli_backup.Progress | None) -> Callable[[int, int, int], None]:
        _a_write_after(count)
        step = watch(progress)

        def each(status: int, remaining: int, total: int) -> None:
            if every_step and remaining:
                _a_write_after(count)
            try:
                step(status, remaining, total)
            except cli_backup._Restarted:
                taken.append("one step")
                raise

        return each

    monkeypatch.setattr(cli_backup, "_watch", watching)
    return taken


@pytest.fixture(params=["sqlite", "sqlite-restarted", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    """SQLite twice: the backup API's copy (the store is small, so one step of
    PAGES_PER_STEP pages copies it all) and, with the store changing under every step, the
    one-step copy it falls back to after restarts."""
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    return request.param


def test_a_backup_taken_while_events_are_recorded_holds_every_earlier_event_byte_for_byte(
    store: str, tmp_path: Path, ledger_cli: Cli,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    postgres = store.startswith("postgresql")
    url = store if postgres else f"sqlite:///{tmp_path}/live/ledger.sqlite"
    live = Place(url, tmp_path / "live")
    stop = threading.Event()
    written: list[int] = []
    broke: list[BaseException] = []
    backup = tmp_path / "ledger.backup"
    if store == "sqlite-restarted":
        monkeypatch.setattr(cli_backup, "PAGES_PER_STEP", 4)  # steps enough to restart 3 times
    taken = watch_the_steps(monkeypatch, written.__len__, store == "sqlite-restarted")
    with TestClient(create_app(live.settings(), clock=MovableClock())) as client:
        ledger = client.app.state.stores.ledger  # type: ignore[attr-defined]
        fill(ledger)
        table = "ledger_events" if postgres else "stored_events"
        assert ledger.recorder.events_table_name == table  # the table the helpers read

        def keep_writing() -> None:
            try:
                while not stop.is_set():
                    subject = ledger.register_subject("Eva", "eva@example.org", "crm").aggregate.id
                    written.append(
                        ledger.give_consent(subject, "info_mail", "web_form", "1", "crm").position
                    )
            except BaseException as error:  # the test fails on it below, not silently here
                broke.append(error)

        held = nullcontext(0) if postgres else an_old_snapshot_held(live.url)
        with held as snapshot:
            writer = threading.Thread(target=keep_writing)
            writer.start()
            try:
                deadline = time.monotonic() + 60
                while len(written) < WRITES_BEFORE_THE_BACKUP and not broke:
                    assert time.monotonic() < deadline, f"only {len(written)} writes in 60 s"
                    time.sleep(0.01)
                head_before = ledger.recorder.max_notification_id()
                writes_before = len(written)
                output = _ok(ledger_cli(live, "backup", str(backup)))
                writes_during = len(written) - writes_before
            finally:
                stop.set()
                writer.join(60)
    assert not writer.is_alive() and not broke, broke
    assert "Backed up" in output
    assert writes_during > 0, "the ledger recorded nothing while the backup ran"
    if not postgres:
        assert head_before > snapshot  # what came after the held snapshot is only in the WAL

    fresh = request.getfixturevalue("fresh_pg_database") if postgres else None
    restored = _restore(backup, live, tmp_path, fresh)
    end = last_position(restored.url)
    assert end >= head_before, (
        f"the backup ends at position {end}, but the live store was at {head_before} "
        f"before the backup began: the backup is an older copy"
        + ("" if postgres else f" (the main database file alone ends at {snapshot} or before)")
    )
    copied, original = stored_events(restored.url, end), stored_events(live.url, end)
    # Nothing written here rolls back, so the live store has no gap for one in the backup to
    # hide behind.
    assert [row[0] for row in original] == list(range(1, end + 1))
    assert [row[0] for row in copied] == list(range(1, end + 1)), "the backup misses positions"
    different = next((pair for pair in zip(copied, original) if pair[0] != pair[1]), None)
    assert different is None, f"the backup's event differs from the live store's: {different}"
    if not postgres:
        # Each case covers the path it names, or what breaks the other path goes unseen.
        assert taken == (["steps", "one step"] if store == "sqlite-restarted" else ["steps"])
