"""A store made before key epochs, by the version before them, moves to epochs intact.

The stores are real ones: tests/data/store_before_epochs holds a SQLite file and a PostgreSQL
dump made by commit 114b17c's own API and CLI (its `make_fixture.py` says how), with the
master key, signing key and token secret of the data dir they were made with. Each test copies
(SQLite) or restores (PostgreSQL, into a database of its own) that store and its data dir,
then runs this version on it: `ledger keys migrate`, the first start, `ledger keys
close-epoch`. Not one event may change; everyone must still read; the master key must go only
when the kept number of newer epochs exists, and only then may the erasure made before the
migration be recorded final.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.http.auth import mint_token
from api.cli.main import app as cli
from api.settings import Settings, get_settings
from api.bootstrap import open_stores
from projections.read_models.sealed_columns import email_hash, email_lookup_key
from projections.storage.key_directory import KeyDirectory
from projections.storage.key_epochs import KeyEpochs, MasterKeyNeeded
from tests.conftest import make_settings
from tests.reliability.conftest import conninfo

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store_before_epochs"
EXPECTED = json.loads((FIXTURE / "expected.json").read_text())
KEY_FILES = ("master.key", "signing.pem", "auth.secret")
# Why the officer reads a person's data: logged in the tenant's access log.
WHY = {"reason": "the subject asked us by e-mail"}


@dataclass
class OldStore:
    """A copy of a store made before key epochs, with its data dir, ready for this version."""

    kind: str  # "sqlite" or "postgresql"
    url: str
    data_dir: Path
    expected: dict[str, Any]

    def settings(self, **overrides: Any) -> Settings:
        return make_settings(self.url, self.data_dir, poll_interval_ms=10, **overrides)

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def erased(self) -> str:
        return str(self.expected["erased"])

    @property
    def people(self) -> dict[str, dict[str, Any]]:
        return dict(self.expected["subjects"])

    # What the database holds, read past the ledger: the raw rows.
    def rows(self, query: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            connection = sqlite3.connect(self.url.removeprefix("sqlite:///"))
            try:
                return [tuple(row) for row in connection.execute(query).fetchall()]
            finally:
                connection.close()
        import psycopg

        with psycopg.connect(conninfo(self.url)) as connection:
            return [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in connection.execute(query).fetchall()
            ]

    def events_query(self, columns: str = "*") -> str:
        """The stored events in log order (SQLite's position is the rowid)."""
        if self.kind == "sqlite":
            return f"SELECT rowid, {columns} FROM stored_events ORDER BY rowid"
        return f"SELECT notification_id, {columns} FROM ledger_events ORDER BY notification_id"

    @property
    def snapshots_table(self) -> str:
        return "stored_snapshots" if self.kind == "sqlite" else "ledger_snapshots"

    def record(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every stored event and snapshot, byte for byte, and the signed log over them."""
        return {
            "events": self.rows(self.events_query()),
            "snapshots": self.rows(
                f"SELECT * FROM {self.snapshots_table} ORDER BY originator_id, originator_version"
            ),
            "checkpoints": self.rows(
                "SELECT tree_size, root_hash, timestamp, signature FROM merkle_checkpoints "
                "ORDER BY tree_size"
            ),
            "leaves": self.rows("SELECT * FROM merkle_leaves ORDER BY leaf_index"),
        }

    def keys(self) -> dict[str, list[tuple[Any, ...]]]:
        """The key tables as made before epochs (their original columns only)."""
        return {
            "data_keys": self.rows(
                "SELECT owner_id, tenant_id, wrapped_key, created_at, shredded_at "
                "FROM data_keys ORDER BY owner_id"
            ),
            "key_roots": self.rows("SELECT name, wrapped_key, created_at FROM key_roots"),
        }

    def epochs(self) -> list[tuple[Any, ...]]:
        return self.rows("SELECT epoch, closed_at, destroyed_at FROM key_epochs ORDER BY epoch")

    def data_key_epochs(self) -> dict[str, tuple[bool, int | None, int | None]]:
        """owner -> (live, epoch, first_epoch)"""
        return {
            owner: (wrapped is not None, epoch, first)
            for owner, wrapped, epoch, first in self.rows(
                "SELECT owner_id, wrapped_key, epoch, first_epoch FROM data_keys"
            )
        }

    def new_events(self, before: int) -> list[tuple[str, str]]:
        """(originator_id, topic) of the events stored after `before` rows."""
        return [
            (str(UUID(str(originator))), topic)
            for _, originator, topic in self.rows(
                self.events_query("originator_id, topic")
            )[before:]
        ]


def _restore_postgres(url: str) -> None:
    dump = FIXTURE / "postgres.sql"
    if dump.exists():
        sql = dump.read_bytes()
    else:
        import gzip

        sql = gzip.decompress((FIXTURE / "postgres.sql.gz").read_bytes())
    restored = subprocess.run(
        ["psql", "--quiet", "--no-psqlrc", "--set", "ON_ERROR_STOP=1", "--dbname", url],
        input=sql, capture_output=True, timeout=120,
    )
    assert restored.returncode == 0, restored.stderr.decode(errors="replace")


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[OldStore]:
    """The store of before epochs (SQLite, then PostgreSQL) with its data dir, and LEDGER_* set
    for the CLI to use the same."""
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o700)
    for name in KEY_FILES:
        shutil.copyfile(FIXTURE / name, data_dir / name)
        os.chmod(data_dir / name, 0o600)
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite"
        shutil.copyfile(FIXTURE / "ledger.sqlite", path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_url")
        _restore_postgres(url)
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("LEDGER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield OldStore(request.param, url, data_dir, EXPECTED["stores"][request.param])
    get_settings.cache_clear()


def run(*args: str) -> Any:
    """`ledger ARGS` in this process, reading LEDGER_* from the environment."""
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
    return result


def run_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    text = result.stdout
    return json.loads(text[text.index("{"): text.rindex("}") + 1])


def assert_everyone_reads(store: OldStore) -> None:
    """Every person's name, e-mail and phone, and the tenant's name, decrypt through the
    ledger as they did before; the erased person reads "[erased]"."""
    stores = open_stores(store.settings())
    try:
        for key, person in store.people.items():
            subject = stores.ledger.subject(UUID(person["id"]))
            seen = (subject.name, subject.email, subject.phone, bool(subject.erased))
            assert seen == (person["name"], person["email"], person["phone"], person["erased"]), key
        erased = stores.ledger.subject(UUID(store.erased))
        assert (erased.name, erased.email) == ("[erased]", "[erased]")
        tenant = store.expected["tenant"]
        assert stores.ledger.tenant(UUID(tenant["id"])).name == tenant["name"]
    finally:
        stores.close()


def assert_moved_to_epoch_1(store: OldStore) -> None:
    """Epoch 0 (the master key) closed, epoch 1 open; every live data key and the derivation
    root under epoch 1; the erased person's key still shredded, counted from epoch 0."""
    assert [(epoch, closed is not None, destroyed) for epoch, closed, destroyed
            in store.epochs()] == [(0, True, None), (1, False, None)]
    keys = store.data_key_epochs()
    live = {owner: epoch for owner, (alive, epoch, _) in keys.items() if alive}
    assert live and set(live.values()) == {1}, f"data keys not at epoch 1: {live}"
    assert keys[store.erased] == (False, 0, 0)
    assert store.rows("SELECT name, epoch FROM key_roots") == [("derivation_root", 1)]
    assert (store.key_dir / "epoch-00000001.kek").exists()


def erasure_final_events(store: OldStore, after: int) -> list[str]:
    return [origin for origin, topic in store.new_events(after)
            if topic.endswith("ErasureBecameFinal")]


# Migrating
def test_ledger_keys_migrate_changes_no_event_and_moves_every_live_data_key_to_epoch_1(
    old_store: OldStore,
) -> None:
    before = old_store.record()
    assert before["events"] and before["checkpoints"], "the fixture has events and a checkpoint"
    assert old_store.rows("SELECT COUNT(*) FROM data_keys WHERE wrapped_key IS NOT NULL")[0][0] > 0

    result = run("keys", "migrate")

    assert result.exit_code == 0, (result.output, result.exception)
    assert "epoch 1" in " ".join(result.output.split())
    assert_moved_to_epoch_1(old_store)
    # The master key stays until its time comes: backups made before now need it.
    assert old_store.master_key_file.exists()
    assert old_store.record() == before  # every event, snapshot and checkpoint, byte for byte
    assert run("keys", "migrate").exit_code == 0  # a second run changes nothing either
    assert_moved_to_epoch_1(old_store)
    assert old_store.record() == before


def test_after_the_migration_every_person_still_reads_and_the_erased_one_reads_erased(
    old_store: OldStore,
) -> None:
    assert run("keys", "migrate").exit_code == 0

    assert_everyone_reads(old_store)


def test_after_the_migration_ledger_verify_and_projections_check_pass(old_store: OldStore) -> None:
    assert run("keys", "migrate").exit_code == 0

    verified = run("verify")
    checked = run("projections", "check")

    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output
    assert f"events read: {old_store.expected['events']}" in verified.output
    assert checked.exit_code == 0, (checked.output, checked.exception)


def test_after_the_migration_the_erasure_made_before_is_listed_as_not_yet_final(
    old_store: OldStore,
) -> None:
    assert run("keys", "migrate").exit_code == 0

    status = run_json("keys", "status")

    assert [e["epoch"] for e in status["epochs"]] == [0, 1]
    assert all(e["kek_held_here"] for e in status["epochs"])
    assert [(p["owner_id"], p["kind"], p["first_epoch"], p["last_epoch"])
            for p in status["pending_erasures"]] == [(old_store.erased, "subject", 0, 0)]


def test_the_first_start_migrates_without_the_cli_and_what_was_mailed_before_still_works(
    old_store: OldStore,
) -> None:
    before = old_store.record()
    settings = old_store.settings()
    ann = old_store.people["ann"]
    old_lookup = {row[0] for row in old_store.rows(
        f"SELECT email_hash FROM email_lookup WHERE subject_id = '{ann['id']}'"
    )}

    app = create_app(settings)  # opens the stores: the first start of this version
    try:
        assert_moved_to_epoch_1(old_store)
        assert old_store.record() == before
        # The e-mail lookup hashes with a key derived from the derivation root: the hash this
        # version computes is the one the old version stored.
        lookup_key = email_lookup_key(app.state.stores.keys.derivation_root())
        assert {email_hash(lookup_key, ann["email"])} == old_lookup
        # Read models whose tables changed since the fixture was made are rebuilt at the first
        # start (projections/read_models/versions.py); the runner does it, here in this thread.
        app.state.read_side.runner.catch_up()
        client = TestClient(app)  # no lifespan: no sweep, no runner thread, only requests
        officer = {"Authorization": f"Bearer {mint_token(settings, 'officer', 'olga')}"}
        auditor = {"Authorization": f"Bearer {mint_token(settings, 'auditor', 'aude')}"}
        found = client.get("/v1/subjects", params={"email": ann["email"]}, headers=auditor)
        assert found.status_code == 200, found.text
        assert [s["id"] for s in found.json()["items"]] == [ann["id"]]
        # An unsubscribe link mailed before the upgrade still opens its page.
        page = client.get(old_store.expected["unsubscribe_path"])
        assert page.status_code == 200, page.text
        seen = client.get(f"/v1/subjects/{ann['id']}", params=WHY, headers=officer)
        assert seen.status_code == 200, seen.text
        assert (seen.json()["name"], seen.json()["email"], seen.json()["phone"]) == (
            ann["name"], ann["email"], ann["phone"]
        )
    finally:
        app.state.read_side.stop()
        app.state.stores.close()
    assert old_store.record()["events"][: len(before["events"])] == before["events"]


def test_after_the_migration_the_store_reads_without_its_master_key(old_store: OldStore) -> None:
    assert run("keys", "migrate").exit_code == 0
    old_store.master_key_file.rename(old_store.data_dir.parent / "master.key.elsewhere")

    assert_everyone_reads(old_store)
    assert run("verify").exit_code == 0


# Without the right master key
def test_a_store_from_before_epochs_opened_without_its_master_key_fails_clearly_and_changes_nothing(
    old_store: OldStore,
) -> None:
    key = old_store.master_key_file.read_bytes()
    old_store.master_key_file.unlink()
    before, keys_before = old_store.record(), old_store.keys()

    with pytest.raises(MasterKeyNeeded, match="LEDGER_MASTER_KEY"):
        open_stores(old_store.settings())
    result = run("keys", "migrate")

    assert result.exit_code != 0
    assert isinstance(result.exception, MasterKeyNeeded), result.output
    assert old_store.record() == before
    assert old_store.keys() == keys_before
    assert old_store.epochs() == []
    assert not old_store.key_dir.exists() or list(old_store.key_dir.iterdir()) == []
    # Given the key, it migrates as if nothing had happened.
    old_store.master_key_file.write_bytes(key)
    assert run("keys", "migrate").exit_code == 0
    assert_moved_to_epoch_1(old_store)
    assert_everyone_reads(old_store)


def test_a_store_from_before_epochs_given_another_master_key_fails_naming_it_and_changes_nothing(
    old_store: OldStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import base64
    import secrets

    old_store.master_key_file.unlink()
    monkeypatch.setenv("LEDGER_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    before, keys_before = old_store.record(), old_store.keys()

    with pytest.raises(Exception) as raised:
        open_stores(old_store.settings())  # reads LEDGER_MASTER_KEY

    assert old_store.record() == before
    assert old_store.keys() == keys_before
    assert old_store.epochs() == []
    message = f"{type(raised.value).__name__}: {raised.value}"
    assert "master key" in message.lower(), (
        "PRODUCT BUG: a store from before epochs opened with the wrong master key fails with "
        f"a bare {message!r} (projections/storage/key_epochs.py, KeyEpochs._migrate unwraps the root "
        "with `master.unwrap(...)` and lets cryptography's InvalidTag out), where the version "
        "before said MasterKeyMismatch: 'the configured master key does not open this store's "
        "keys ...'. Nothing tells the operator which key is wrong."
    )


# Interrupted
@pytest.mark.parametrize("where", ["writing epoch 1's KEK", "re-wrapping the data keys"])
def test_a_migration_interrupted_on_the_first_start_is_finished_by_the_next_start(
    old_store: OldStore, monkeypatch: pytest.MonkeyPatch, where: str,
) -> None:
    with monkeypatch.context() as patch:
        def fail(*_: Any, **__: Any) -> Any:
            raise OSError(f"simulated failure while {where}")

        if where == "writing epoch 1's KEK":
            patch.setattr(KeyDirectory, "create", fail)
        else:
            patch.setattr(KeyEpochs, "rewrap", fail)
        with pytest.raises(OSError, match="simulated"):
            open_stores(old_store.settings())
    before = old_store.record()

    open_stores(old_store.settings()).close()  # the next start
    result = run("keys", "migrate")

    assert result.exit_code == 0, (result.output, result.exception)
    assert old_store.record() == before
    assert_everyone_reads(old_store)
    said = " ".join(result.output.split()).partition("The store uses")[1:]
    said = "".join(said).strip()
    keys = old_store.data_key_epochs()
    left = sorted({epoch for alive, epoch, _ in keys.values() if alive})
    epochs = [e for e, _, _ in old_store.epochs()]
    assert epochs == [0, 1] and left == [1], (
        "PRODUCT BUG: after a first start that failed while "
        f"{where}, the next start (and `ledger keys migrate`, which said {said!r}) left the "
        f"store with epochs {epochs} and its live "
        f"data keys at epochs {left}, still wrapped by the master key: KeyEpochs.start "
        "(projections/storage/key_epochs.py) returns False as soon as any key_epochs row exists, and "
        "KeyEpochs._migrate records epoch 0 in its own transaction before it opens epoch 1 and "
        "re-wraps, so a migration cut short after that transaction is never finished."
    )


# Closing epochs after the migration
def test_once_enough_newer_epochs_exist_the_master_key_file_is_gone_and_the_old_erasure_is_final(
    old_store: OldStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_KEY_EPOCHS_KEPT", "1")
    assert run("keys", "migrate").exit_code == 0
    before = old_store.record()
    assert old_store.master_key_file.exists()
    assert [p["owner_id"] for p in run_json("keys", "status")["pending_erasures"]] == [
        old_store.erased
    ]

    closed = run_json("keys", "close-epoch")

    assert closed["opened"] == 2
    assert closed["destroyed"] == [0, 1] and closed["not_destroyable"] == []
    assert not old_store.master_key_file.exists()
    assert sorted(p.name for p in old_store.key_dir.iterdir()) == ["epoch-00000002.kek"]
    assert closed["final_erasures"] == [old_store.erased]
    assert erasure_final_events(old_store, len(before["events"])) == [old_store.erased]
    status = run_json("keys", "status")
    assert status["pending_erasures"] == []
    assert {e["epoch"]: bool(e["destroyed_at"]) for e in status["epochs"]} == {
        0: True, 1: True, 2: False,
    }
    # The events of before are untouched; only the finality was added after them.
    after = old_store.record()
    assert after["events"][: len(before["events"])] == before["events"]
    assert after["checkpoints"][: len(before["checkpoints"])] == before["checkpoints"]
    assert_everyone_reads(old_store)
    # The finality events wait for a sealer (none runs here): verify fails an event unsealed
    # past LEDGER_CHECKPOINT_DELAY_SECONDS, so seal them as a running ledger would.
    assert run("seal").exit_code == 0
    assert run("verify").exit_code == 0
    stores = open_stores(old_store.settings())
    try:
        assert stores.ledger.subject(UUID(old_store.erased)).erasure_final_at is not None
    finally:
        stores.close()
    # A second close finds nothing more to make final.
    assert run_json("keys", "close-epoch")["final_erasures"] == []
    assert erasure_final_events(old_store, len(before["events"])) == [old_store.erased]


def test_with_the_master_key_in_the_environment_epoch_0_is_not_destroyed_and_the_erasure_waits(
    old_store: OldStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_KEY_EPOCHS_KEPT", "1")
    monkeypatch.setenv("LEDGER_MASTER_KEY", old_store.master_key_file.read_text().strip())
    old_store.master_key_file.unlink()
    assert run("keys", "migrate").exit_code == 0
    before = old_store.record()

    closed = run_json("keys", "close-epoch")
    said = " ".join(run("keys", "close-epoch").output.split())

    assert closed["not_destroyable"] == [0]
    assert 0 not in closed["destroyed"] and closed["final_erasures"] == []
    assert "Epoch 0 is LEDGER_MASTER_KEY" in said
    status = run_json("keys", "status")
    assert [p["owner_id"] for p in status["pending_erasures"]] == [old_store.erased]
    epoch_0 = next(e for e in status["epochs"] if e["epoch"] == 0)
    assert epoch_0["destroyed_at"] is None and epoch_0["kek_held_here"]
    assert erasure_final_events(old_store, len(before["events"])) == []
    assert_everyone_reads(old_store)

    # Once every process runs without it, the next close makes the erasure final.
    monkeypatch.delenv("LEDGER_MASTER_KEY")
    closed = run_json("keys", "close-epoch")

    assert 0 in closed["destroyed"] and closed["final_erasures"] == [old_store.erased]
    assert run_json("keys", "status")["pending_erasures"] == []
    assert erasure_final_events(old_store, len(before["events"])) == [old_store.erased]
    assert_everyone_reads(old_store)


def test_the_fixture_was_made_by_the_version_before_key_epochs() -> None:
    """Guards the fixture itself: its key tables have no epoch column and the master key it
    came with opens the derivation root, as only a store made before epochs would."""
    import base64

    from domain.ledger.keys import KeyEncryptionKey

    connection = sqlite3.connect(FIXTURE / "ledger.sqlite")
    try:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(data_keys)")}
        tables = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        root = connection.execute("SELECT wrapped_key FROM key_roots").fetchone()[0]
    finally:
        connection.close()
    assert "epoch" not in columns and "key_epochs" not in tables
    master = KeyEncryptionKey(base64.b64decode((FIXTURE / "master.key").read_text().strip()))
    assert len(master.unwrap(UUID(int=0), bytes(root))) == 32
    with pytest.raises(InvalidTag):
        KeyEncryptionKey(bytes(32)).unwrap(UUID(int=0), bytes(root))
    sql = FIXTURE / "postgres.sql"
    text = sql.read_text() if sql.exists() else ""
    assert not text or ("key_epochs" not in text and "CREATE TABLE public.data_keys" in text)
    assert (FIXTURE / "make_fixture.py").exists() and (FIXTURE / "README.md").exists()
