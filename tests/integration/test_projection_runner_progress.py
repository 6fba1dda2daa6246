"""What the runner says about its progress: how many events a catch-up read and where each of
its batches ended (what `ledger projections rebuild` prints and draws), a catch-up that a
rebuild resets under it, readers after a reset, `ledger sweep` catching up first (on SQLite
and PostgreSQL), and a polling runner that loses its store for a moment (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import logging
import time

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.bootstrap import start_read_side
from api.settings import Settings, get_settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from projections.read_models.runner import ProjectionRunner
from tests.conftest import make_settings


def _consents(stores: Stores, subjects: int) -> None:
    for n in range(subjects):
        subject = stores.ledger.register_subject(f"P{n}", f"p{n}@example.org", "app").aggregate.id
        stores.ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")


def _ids(stores: Stores) -> list[int]:
    return [n.id for n in stores.ledger.recorder.select_notifications(1, 10_000)]


def _count(stores: Stores, table: str) -> int:
    row = stores.db.fetchone(f"SELECT COUNT(*) FROM {table}")
    assert row is not None
    return int(row[0])


def test_a_catch_up_in_many_batches_counts_every_event_and_reports_where_each_batch_ended(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    _consents(durable_stores, 4)  # 8 events
    ids = _ids(durable_stores)
    durable_read_side.runner.batch_size = 3
    ends: list[int] = []

    read = durable_read_side.runner.catch_up(progress=ends.append)

    assert read == len(ids) == 8
    assert ends == [ids[2], ids[5], ids[7]]
    assert durable_read_side.runner.position() == durable_read_side.runner.head() == ids[-1]
    assert _count(durable_stores, "consent_history") == 4
    assert durable_read_side.runner.catch_up(progress=ends.append) == 0 and len(ends) == 3


class _ResetOnceWhileDecoding:
    """The ledger as a runner sees it, except that while it decodes the event at `position`
    (after reading the positions, before taking their lock) a rebuild resets the read models:
    the one moment when a reset makes the batch stale."""

    def __init__(self, ledger: Any, position: int, reset: Any) -> None:
        self.recorder = ledger.recorder
        self._mapper = ledger.mapper
        self._position = position
        self._reset = reset

    @property
    def mapper(self) -> Any:
        return self

    def to_domain_event(self, notification: Any) -> Any:
        if notification.id == self._position and self._reset is not None:
            reset, self._reset = self._reset, None
            reset()
        return self._mapper.to_domain_event(notification)


def test_a_catch_up_whose_read_models_a_rebuild_resets_midway_starts_again_and_reaches_the_head(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    _consents(durable_stores, 4)
    ids = _ids(durable_stores)
    projections = durable_read_side.runner.projections
    rebuilding = ProjectionRunner(durable_stores.ledger, durable_stores.db, projections)
    runner = ProjectionRunner(
        _ResetOnceWhileDecoding(durable_stores.ledger, ids[3], rebuilding.reset),
        durable_stores.db, projections, batch_size=3,
    )

    runner.catch_up()

    assert runner.position() == ids[-1]
    assert _count(durable_stores, "consent_history") == 4
    assert _count(durable_stores, "subject_profiles") == 4


def test_read_models_reset_right_after_the_first_event_are_caught_up_from_it_again(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    _consents(durable_stores, 2)
    ids = _ids(durable_stores)
    assert ids[0] == 1, "a brand-new store numbers its first event 1"
    projections = durable_read_side.runner.projections
    rebuilding = ProjectionRunner(durable_stores.ledger, durable_stores.db, projections)
    runner = ProjectionRunner(
        _ResetOnceWhileDecoding(durable_stores.ledger, ids[1], rebuilding.reset),
        durable_stores.db, projections,
    )
    runner.catch_up(until=ids[0])

    runner.catch_up()  # the reset lands after the positions were read: 0, one behind the batch

    assert runner.position() == ids[-1]
    assert _count(durable_stores, "subject_profiles") == 2


def test_a_reader_waits_for_rows_not_applied_yet_or_again_after_a_reset(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    subject = durable_stores.ledger.register_subject("Ann", "ann@example.org", "app").aggregate.id
    last = _ids(durable_stores)[-1]
    assert durable_read_side.runner.wait_for(1, timeout=0) is False, "nothing is applied yet"
    durable_read_side.runner.catch_up()
    assert durable_read_side.runner.wait_for(last, timeout=0)

    durable_read_side.runner.reset()  # what `ledger projections rebuild` does first

    assert durable_read_side.runner.wait_for(last, timeout=0) is False, (
        "the profile is not there to read"
    )
    assert durable_read_side.read_models.subject_profile(subject) is None
    durable_read_side.runner.catch_up()
    assert durable_read_side.runner.wait_for(last, timeout=0)
    assert durable_read_side.read_models.subject_profile(subject)["name"] == "Ann"


@pytest.fixture
def cli_settings(
    durable_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The CLI reads LEDGER_* from the environment, as it would in a shell."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", durable_database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("COLUMNS", "200")  # one line per row of rich's table
    get_settings.cache_clear()
    yield make_settings(durable_database_url, tmp_path / "var")
    get_settings.cache_clear()


def test_ledger_sweep_first_projects_what_no_runner_has_and_expires_a_request_asked_13_hours_ago(
    cli_settings: Settings,
) -> None:
    # The command runs on the real clock: the request was asked 13 hours before now.
    clock = MovableClock(datetime.now(timezone.utc) - timedelta(hours=13))
    stores = open_stores(cli_settings, clock=clock)
    try:
        tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate.id
        request = stores.ledger.request_access(tenant, "staff-1", "read", ["orders"], "t")
    finally:
        stores.close()

    result = CliRunner().invoke(app, ["sweep"])

    assert result.exit_code == 0, result.output
    assert str(request.aggregate.id) in result.output
    stores = open_stores(cli_settings)
    try:
        assert stores.ledger.access_request(request.aggregate.id).status == "expired"
    finally:
        stores.close()


def test_a_polling_runner_that_loses_the_event_store_a_moment_says_so_in_one_line_and_goes_on(
    tmp_path: Path, clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.projections")
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var",
                             poll_interval_ms=10)
    stores = open_stores(settings, clock=clock)
    side = start_read_side(stores, settings, clock=clock)
    events = stores.ledger.recorder.events_table_name
    try:
        first = stores.ledger.register_subject("Ann", "ann@example.org", "app")
        assert side.read_models.wait_for(first.position, timeout=10)
        stores.db.execute(f"ALTER TABLE {events} RENAME TO events_held_aside")
        deadline = time.monotonic() + 10
        while not [r for r in caplog.records if r.levelno >= logging.WARNING]:
            assert time.monotonic() < deadline, "the runner never noticed"
            time.sleep(0.01)
        stores.db.execute(f"ALTER TABLE events_held_aside RENAME TO {events}")

        later = stores.ledger.register_subject("Bea", "bea@example.org", "app")
        assert side.read_models.wait_for(later.position, timeout=10)
    finally:
        side.stop()
        stores.close()
    said = [r for r in caplog.records if r.name == "ledger.projections"]
    assert {r.levelno for r in said if r.levelno >= logging.WARNING} == {logging.WARNING}
    assert all(r.exc_info is None for r in said)
