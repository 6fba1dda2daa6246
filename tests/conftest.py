"""Fixtures shared by every layer of tests: stores on memory, a SQLite file and real PostgreSQL.

PostgreSQL tests create their own database and drop it afterwards. Outside CI they skip
with instructions when no server answers; with CI=true they fail instead, so a green CI
run always means PostgreSQL was really exercised.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest

from api.settings import Settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from tests.no_skips_in_ci import IN_CI

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)


def _pg_unavailable(reason: str) -> None:
    message = (
        f"PostgreSQL is not reachable at {pg_admin_url()} ({reason}). Start it with "
        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point "
        "LEDGER_TEST_POSTGRES_URL at a server where the user may create databases."
    )
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin() -> str:
    import psycopg

    try:
        with psycopg.connect(_conninfo(pg_admin_url()), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        _pg_unavailable(str(error).strip().splitlines()[0] if str(error) else "no answer")
    return pg_admin_url()


def _conninfo(url: str) -> str:
    from projections.storage.postgres import postgres_parts

    return " ".join(f"{k}={v}" for k, v in postgres_parts(url).items() if v)


def with_database(url: str, dbname: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{dbname}"


@contextmanager
def a_new_database(pg_admin: str) -> Iterator[str]:
    """The URL of a brand-new PostgreSQL database, dropped afterwards."""
    import psycopg

    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_conninfo(pg_admin), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_admin, name)
    finally:
        with psycopg.connect(_conninfo(pg_admin), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """A brand-new PostgreSQL database for one test."""
    with a_new_database(pg_admin) as url:
        yield url


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once per store."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture(params=["sqlite", "postgres"])
def durable_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The stores that keep bytes on disk (for tests that read the raw bytes)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=data_dir,
        _env_file=None,  # type: ignore[call-arg]
        **overrides,
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path / "var")


@pytest.fixture
def stores(settings: Settings, clock: MovableClock) -> Iterator[Stores]:
    opened = open_stores(settings, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def durable_settings(durable_database_url: str, tmp_path: Path) -> Settings:
    return make_settings(durable_database_url, tmp_path / "var")


@pytest.fixture
def durable_stores(durable_settings: Settings, clock: MovableClock) -> Iterator[Stores]:
    opened = open_stores(durable_settings, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def run_in_a_loop_of_its_own(func: Callable[..., Any], *args: Any) -> Any:
    """`anyio.run(func, *args)` in a thread of its own: the browser tests keep an event loop
    running in the main thread, where a second one cannot start."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = anyio.run(func, *args)
        except BaseException as error:  # pytest's own failures included
            outcome["error"] = error

    runner = threading.Thread(target=run)
    runner.start()
    runner.join(60)
    assert not runner.is_alive(), "still running after a minute"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
