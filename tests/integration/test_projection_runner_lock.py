"""Background runners on PostgreSQL: one process per group applies the projections (it holds
the group's advisory lock), the others stand by; `ledger projections status` names the holder;
two ledgers on one server do not wait for each other; a runner whose connection is cut says
so in one line and carries on."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.bootstrap import start_read_side
from api.settings import Settings, get_settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from projections.read_models.runner import ProjectionRunner, group_lock_key
from tests.conftest import _conninfo, a_new_database, make_settings

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(pg_url: str, tmp_path: Path) -> Settings:
    return make_settings(pg_url, tmp_path / "var", poll_interval_ms=20)


@pytest.fixture
def stores(settings: Settings, clock: MovableClock) -> Iterator[Stores]:
    opened = open_stores(settings, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def _eventually(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.02)


def _registered(stores: Stores, name: str) -> int:
    return stores.ledger.register_subject(name, f"{name.lower()}@example.org", "app").position


def test_a_group_whose_lock_key_has_its_top_bit_set_is_applied_by_one_runner_the_other_stands_by(
    settings: Settings, clock: MovableClock
) -> None:
    # The key is the digest's first 8 bytes as a signed bigint: for this group, a negative one.
    assert hashlib.sha256(b"ledger-projections/reports").digest()[0] >= 0x80
    first, second = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    runners = [
        ProjectionRunner(
            s.ledger, s.db, start_read_side(s, settings, run_projections=False).runner.projections,
            poll_interval=0.02, group="reports",
        )
        for s in (first, second)
    ]
    try:
        runners[0].start()
        assert runners[0].wait_for(_registered(first, "Ann"), timeout=10)
        runners[1].start()
        _eventually(lambda: runners[1].standing_by)
        assert runners[1].wait_for(_registered(first, "Bea"), timeout=10)
        assert not runners[0].standing_by
    finally:
        for runner in runners:
            runner.stop()
        first.close()
        second.close()


def test_ledger_projections_status_names_the_process_that_applies_the_projections(
    stores: Stores, settings: Settings, clock: MovableClock, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    side = start_read_side(stores, settings, clock=clock)
    try:
        assert side.read_models.wait_for(_registered(stores, "Ann"), timeout=10)
        applying = CliRunner().invoke(app, ["projections", "status"])
        side.stop()
        nobody = CliRunner().invoke(app, ["projections", "status"])
    finally:
        side.stop()
        get_settings.cache_clear()

    assert "projections applied by the process holding backend pid" in applying.output
    assert "no process is applying the projections right now" in nobody.output


@pytest.fixture
def another_pg_url(pg_admin: str) -> Iterator[str]:
    with a_new_database(pg_admin) as url:
        yield url


def test_two_ledgers_on_one_postgresql_server_each_apply_their_own_projections(
    stores: Stores, settings: Settings, another_pg_url: str, tmp_path: Path,
    clock: MovableClock,
) -> None:
    other_settings = make_settings(another_pg_url, tmp_path / "other", poll_interval_ms=20)
    other = open_stores(other_settings, clock=clock)
    sides = [start_read_side(stores, settings, clock=clock),
             start_read_side(other, other_settings, clock=clock)]
    try:
        assert sides[0].read_models.wait_for(_registered(stores, "Ann"), timeout=10)
        assert sides[1].read_models.wait_for(_registered(other, "Bea"), timeout=10)
        assert not sides[0].runner.standing_by and not sides[1].runner.standing_by
    finally:
        for side in sides:
            side.stop()
        other.close()


def test_projections_status_does_not_name_the_runner_of_another_ledger_on_the_same_server(
    stores: Stores, settings: Settings, another_pg_url: str, tmp_path: Path,
    clock: MovableClock, monkeypatch: pytest.MonkeyPatch,
) -> None:
    other_settings = make_settings(another_pg_url, tmp_path / "other", poll_interval_ms=20)
    other = open_stores(other_settings, clock=clock)
    side = start_read_side(other, other_settings, clock=clock)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        assert side.read_models.wait_for(_registered(other, "Bea"), timeout=10)
        ours = CliRunner().invoke(app, ["projections", "status"])
    finally:
        side.stop()
        other.close()
        get_settings.cache_clear()

    assert "no process is applying the projections right now" in ours.output, ours.output


def _lock_holder(pg_url: str) -> int | None:
    key = group_lock_key("read_models") & 0xFFFFFFFFFFFFFFFF
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s AND objid = %s AND objsubid = 1 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchone()
    return None if row is None else int(row[0])


def test_a_runner_whose_connection_is_cut_says_so_in_one_line_and_applies_what_comes_next(
    stores: Stores, settings: Settings, pg_url: str, clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ledger.projections")
    side = start_read_side(stores, settings, clock=clock)
    try:
        assert side.read_models.wait_for(_registered(stores, "Ann"), timeout=10)
        holder = _lock_holder(pg_url)
        assert holder is not None
        with psycopg.connect(_conninfo(pg_url), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (holder,))
        _eventually(lambda: _lock_holder(pg_url) not in (None, holder))  # it came back

        assert side.read_models.wait_for(_registered(stores, "Bea"), timeout=10)
    finally:
        side.stop()
    said = [r for r in caplog.records if r.name == "ledger.projections"]
    assert {r.levelno for r in said if r.levelno >= logging.WARNING} == {logging.WARNING}
    assert all(r.exc_info is None for r in said)
