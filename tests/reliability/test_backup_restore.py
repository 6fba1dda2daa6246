"""`ledger backup PATH` and restoring it: a store where `ledger verify` passes and the read
models rebuild to the same rows as the original.

SQLite: the online backup is taken while the ledger runs and writes; the copy is put in a new
data dir with the same keys. PostgreSQL: `ledger backup` runs pg_dump, and pg_restore loads the
dump into a fresh database.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import backup as cli_backup

from api import keyfiles
from api.app import create_app
from api.cli.main import app as cli
from api.settings import Settings, get_settings
from api.bootstrap import open_stores
from domain.clock import MovableClock
from projections.read_models.all_read_models import read_model_projections
from projections.storage.postgres import postgres_parts
from projections.read_models.sealed_columns import ColumnSealer, email_lookup_key
from projections.read_models.tables import TRACKING_TABLE
from tests.conftest import make_settings, with_database
from tests.e2e.conftest import Scene

KEY_FILES = (keyfiles.AUTH_SECRET_FILE, keyfiles.SIGNING_KEY_FILE)


@dataclass
class Place:
    url: str
    data_dir: Path

    def settings(self) -> Settings:
        return make_settings(self.url, self.data_dir, poll_interval_ms=10)


class Cli:
    """`ledger ...` as a shell would run it: LEDGER_* from the environment."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch

    def __call__(self, place: Place, *args: str) -> Any:
        self.monkeypatch.setenv("LEDGER_DATABASE_URL", place.url)
        self.monkeypatch.setenv("LEDGER_DATA_DIR", str(place.data_dir))
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, list(args))
        finally:
            get_settings.cache_clear()


@pytest.fixture
def ledger_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_MASTER_KEY", raising=False)
    return Cli(monkeypatch)


def fill(ledger: Any) -> int:
    """One of everything (tenants, people with personal data, consents, grants, accesses,
    requests, an incident) and an erasure; returns the last position."""
    scene = Scene.build(ledger)
    tenant = uuid.UUID(scene.ids["T"])
    person = ledger.register_subject("Ann de Vries", "ann@example.org", "crm", tenant_id=tenant,
                                     phone="+31612345678").aggregate.id
    ledger.give_consent(person, "profiling", "web_form", "2026-01", "crm")
    ledger.use_access(uuid.UUID(scene.ids["G"]), "sam", "orders/17", "read")
    gone = ledger.register_subject("Dirk", "dirk@example.org", "crm", tenant_id=tenant).aggregate.id
    request = ledger.receive_data_request(gone, "erasure", "email", "olga").aggregate.id
    ledger.verify_identity(request, "passport", "olga")
    return ledger.fulfil_data_request(request, "olga").position


def read_model_rows(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, sealed columns opened (their ciphertexts differ with
    every sealing), and each read model's tracking position."""
    stores = open_stores(settings)
    try:
        root = stores.keys.derivation_root()
        sealer = ColumnSealer(stores.keys)
        projections = read_model_projections(stores.keys, email_lookup_key(root))
        rows: dict[str, list[tuple[Any, ...]]] = {}
        for projection in projections:
            for table in projection.tables:
                columns = table.column_names
                found = []
                for values in stores.db.fetchall(f"SELECT {', '.join(columns)} FROM {table.name}"):
                    row = dict(zip(columns, values))
                    key = tuple(row[k] for k in table.key)
                    for column, owner in table.sealed.items():
                        row[column] = sealer.open(row[owner], table.name, key, column, row[column])
                    found.append(tuple(str(row[c]) for c in columns))
                rows[table.name] = sorted(found)
        # The read models' positions: the outbox's is its own (a rebuild never moves it, and
        # a restored store's outbox resumes where the backup left it).
        names = {projection.name for projection in projections}
        rows[TRACKING_TABLE] = sorted(
            (str(name), str(position)) for name, position in stores.db.fetchall(
                f"SELECT name, position FROM {TRACKING_TABLE}") if name in names
        )
        return rows
    finally:
        stores.close()


def copy_keys(source: Path, target: Path) -> None:
    """A restore needs the same keys: the backup holds none that open it."""
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name in KEY_FILES:
        shutil.copy2(source / name, target / name)
    # The key-encryption keys: on a real machine the restored store points LEDGER_KEY_DIR at
    # the directory that never went into the backup (docs/erasure.md).
    shutil.copytree(source / "keys", target / "keys", dirs_exist_ok=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_a_backup_taken_while_the_ledger_writes_restores_to_a_store_that_verifies(
    tmp_path: Path, ledger_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Place(f"sqlite:///{tmp_path}/live/ledger.sqlite", tmp_path / "live")
    monkeypatch.setattr(cli_backup, "PAGES_PER_STEP", 4)  # many steps, for writes to fall between
    stop = threading.Event()
    written: list[int] = []
    with TestClient(create_app(live.settings(), clock=MovableClock())) as client:
        ledger = client.app.state.stores.ledger  # type: ignore[attr-defined]
        written.append(fill(ledger))

        def keep_writing() -> None:
            while not stop.is_set():
                subject = ledger.register_subject("Eva", "eva@example.org", "crm").aggregate.id
                written.append(ledger.give_consent(subject, "info_mail", "web_form", "1", "crm").position)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            output = _ok(ledger_cli(live, "backup", str(tmp_path / "copy.sqlite")))
        finally:
            stop.set()
            writer.join(30)
    assert "Backed up" in output and "sha256" in output
    assert len(written) > 1  # the ledger was writing while the backup ran
    copy = tmp_path / "copy.sqlite"
    assert _mode(copy) == 0o600
    assert not (tmp_path / "copy.sqlite.partial").exists()

    restored = Place(f"sqlite:///{tmp_path}/restored/ledger.sqlite", tmp_path / "restored")
    copy_keys(live.data_dir, restored.data_dir)
    shutil.copy2(copy, tmp_path / "restored" / "ledger.sqlite")

    assert "OK" in _ok(ledger_cli(restored, "verify"))
    # The copy's read models may lag its events (the runner was busy): rebuild, then compare
    # every row with what the events say.
    _ok(ledger_cli(restored, "projections", "rebuild"))
    assert "rows match the events" in _ok(ledger_cli(restored, "projections", "check"))


def test_a_backup_completes_even_when_the_store_changes_after_every_step(tmp_path: Path) -> None:
    live = Place(f"sqlite:///{tmp_path}/live/ledger.sqlite", tmp_path / "live")
    with TestClient(create_app(live.settings(), clock=MovableClock())) as client:
        fill(client.app.state.stores.ledger)  # type: ignore[attr-defined]
    source = tmp_path / "live" / "ledger.sqlite"
    other = sqlite3.connect(source, isolation_level=None)
    other.execute("CREATE TABLE IF NOT EXISTS scribbles (n INTEGER)")
    seen: list[tuple[int, int]] = []

    def scribble(done: int, total: int) -> None:
        # Another connection writes between the steps: SQLite restarts the stepped copy.
        seen.append((done, total))
        other.execute("INSERT INTO scribbles VALUES (1)")

    cli_backup.PAGES_PER_STEP, saved = 1, cli_backup.PAGES_PER_STEP
    try:
        cli_backup.backup_sqlite(source, tmp_path / "copy.sqlite", scribble)
    finally:
        cli_backup.PAGES_PER_STEP = saved
        other.close()

    assert any(later[0] <= earlier[0] for earlier, later in zip(seen, seen[1:]))  # it restarted
    copy = sqlite3.connect(tmp_path / "copy.sqlite")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM stored_events").fetchone()[0] > 20
    finally:
        copy.close()


@pytest.fixture
def fresh_pg_database(pg_admin: str) -> Iterator[str]:
    """A second empty PostgreSQL database, to restore into."""
    name = f"ledger_restore_{uuid.uuid4().hex[:12]}"
    conninfo = " ".join(f"{k}={v}" for k, v in postgres_parts(pg_admin).items() if v)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(pg_admin, name)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _restore(backup: Path, source: Place, tmp_path: Path, fresh_pg_url: str | None) -> Place:
    if fresh_pg_url is None:
        restored = Place(f"sqlite:///{tmp_path}/restored/ledger.sqlite", tmp_path / "restored")
        copy_keys(source.data_dir, restored.data_dir)
        shutil.copy2(backup, tmp_path / "restored" / "ledger.sqlite")
        return restored
    restored = Place(fresh_pg_url, tmp_path / "restored")
    copy_keys(source.data_dir, restored.data_dir)
    # As docs/reliability.md says: pg_restore into an empty database, PG* variables set.
    env = {**cli_backup.pg_environment(fresh_pg_url)}
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={env['PGDATABASE']}",
         str(backup)],
        env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return restored


def test_a_restored_backup_verifies_and_rebuilds_to_the_same_rows_as_the_original(
    durable_database_url: str, tmp_path: Path, ledger_cli: Cli, request: pytest.FixtureRequest
) -> None:
    original = Place(durable_database_url, tmp_path / "original")
    with TestClient(create_app(original.settings(), clock=MovableClock())) as client:
        ledger = client.app.state.stores.ledger  # type: ignore[attr-defined]
        position = fill(ledger)
        assert client.app.state.read.wait_for(position, 10)  # type: ignore[attr-defined]
        _ok(ledger_cli(original, "seal"))
        # Online: the API is up (projections, sealer and sweeper running) during the backup.
        output = _ok(ledger_cli(original, "backup", str(tmp_path / "ledger.backup")))
    assert "Backed up" in output
    backup = tmp_path / "ledger.backup"
    assert _mode(backup) == 0o600 and backup.stat().st_size > 0

    postgres = durable_database_url.startswith("postgresql")
    fresh = request.getfixturevalue("fresh_pg_database") if postgres else None
    restored = _restore(backup, original, tmp_path, fresh)

    assert "OK" in _ok(ledger_cli(restored, "verify"))
    expected = read_model_rows(original.settings())
    assert read_model_rows(restored.settings()) == expected  # as copied
    _ok(ledger_cli(restored, "projections", "rebuild"))
    rebuilt = read_model_rows(restored.settings())
    assert rebuilt == expected  # and as the events make them again
    assert sum(len(rows) for rows in rebuilt.values()) > 30

    with TestClient(create_app(restored.settings(), clock=MovableClock())) as client:
        read = client.app.state.read  # type: ignore[attr-defined]
        person = read.subject_by_email("ann@example.org")
        assert person is not None
        profile = read.subject_profile(person)
        assert (profile["name"], profile["phone"]) == ("Ann de Vries", "+31612345678")


def test_a_memory_store_has_nothing_to_back_up(tmp_path: Path, ledger_cli: Cli) -> None:
    result = ledger_cli(Place("memory://", tmp_path / "var"), "backup", str(tmp_path / "x"))
    assert result.exit_code == 2 and "Nothing to back up" in result.output
    assert not (tmp_path / "x").exists()


def test_a_backup_never_overwrites_a_file_unless_told(tmp_path: Path, ledger_cli: Cli) -> None:
    live = Place(f"sqlite:///{tmp_path}/live/ledger.sqlite", tmp_path / "live")
    with TestClient(create_app(live.settings(), clock=MovableClock())):
        pass
    target = tmp_path / "copy.sqlite"
    target.write_text("precious")

    refused = ledger_cli(live, "backup", str(target))
    assert refused.exit_code == 2 and target.read_text() == "precious"
    _ok(ledger_cli(live, "backup", str(target), "--force"))
    assert target.read_bytes().startswith(b"SQLite format 3")
