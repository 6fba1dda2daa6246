"""`ledger keys rotate-master`: every data key under a new master key, not one event changed.

After a rotation everything still reads (names, emails and phones decrypt through the API, the
email lookup finds people, unsubscribe links mailed before still work), `ledger verify` passes,
and a process that kept the old key refuses to write keys nobody could open.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import keyfiles
from api.app import create_app
from api.auth import mint_token
from api.cli import app as cli
from api.settings import Settings, get_settings
from api.wiring import open_stores
from domain.clock import MovableClock
from domain.keys import MasterKey
from projections.keystore import MasterKeyMismatch
from tests.conftest import make_settings

# Why the officer reads a person's data: logged in the tenant's access log.
WHY = {"reason": "the subject asked us by e-mail"}

PEOPLE = [
    ("Ann de Vries", "ann@example.org", "+31611111111"),
    ("Bram Öztürk", "bram@example.org", "+31622222222"),
    ("Cees \u202eJansen", "cees@example.org", None),
]


@dataclass
class Place:
    url: str
    data_dir: Path

    def settings(self, **overrides: Any) -> Settings:
        return make_settings(self.url, self.data_dir, poll_interval_ms=10, **overrides)

    @property
    def key_file(self) -> Path:
        return self.data_dir / keyfiles.MASTER_KEY_FILE


def _place(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_MASTER_KEY", raising=False)
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield Place(url, tmp_path / "var")
    get_settings.cache_clear()


@pytest.fixture
def place(durable_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Place]:
    """A store (SQLite, then PostgreSQL) and data dir that the CLI, reading LEDGER_* from the
    environment, uses too."""
    yield from _place(durable_database_url, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    """The same on SQLite only: for what the key files decide, not the store."""
    yield from _place(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path, monkeypatch)


def run(*args: str) -> Any:
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, list(args))
    get_settings.cache_clear()
    return result


@dataclass
class History:
    subjects: list[str]
    erased: str
    unsubscribe_path: str


def make_history(settings: Settings) -> History:
    """People registered through the API, one erased, a consent and its unsubscribe link."""
    with TestClient(create_app(settings, clock=MovableClock())) as client:
        def call(method: str, path: str, role: str, body: Any = None, status: int = 200) -> Any:
            headers = {"Authorization": f"Bearer {mint_token(settings, role, 'someone')}"}
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == status, response.text
            return response.json()

        tenant = call("POST", "/v1/tenants", "officer", {"name": "Acme"}, 201)["id"]
        subjects = [
            call("POST", "/v1/subjects", "system",
                 {"tenant_id": tenant, "name": name, "email": email, "phone": phone}, 201)["id"]
            for name, email, phone in PEOPLE
        ]
        call("PUT", f"/v1/subjects/{subjects[0]}/consents/info_mail", "system",
             {"status": "given", "channel": "email", "notice_version": "1", "method": "web_form"})
        link = call("POST", f"/v1/subjects/{subjects[0]}/unsubscribe-links", "system",
                    {"purpose": "info_mail"}, 201)["url"]
        gone = call("POST", "/v1/subjects", "system", {"name": "Dirk", "email": "dirk@example.org"},
                    201)["id"]
        erasure = call("POST", f"/v1/subjects/{gone}/requests", "officer",
                       {"kind": "erasure", "channel": "email"}, 201)["id"]
        call("POST", f"/v1/requests/{erasure}/verify-identity", "officer", {"method": "passport"})
        done = call("POST", f"/v1/requests/{erasure}/fulfil", "officer")
        assert client.app.state.read.wait_for(done["position"], 10)  # type: ignore[attr-defined]
    return History(subjects, gone, link[len(settings.public_url.rstrip("/")):])


def events_of(settings: Settings) -> list[Any]:
    stores = open_stores(settings)
    try:
        return list(stores.ledger.recorder.select_notifications(1, 1_000_000))
    finally:
        stores.close()


def data_keys_of(settings: Settings) -> dict[str, bytes | None]:
    stores = open_stores(settings)
    try:
        rows = stores.db.fetchall("SELECT owner_id, wrapped_key FROM data_keys")
    finally:
        stores.close()
    return {owner: None if wrapped is None else bytes(wrapped) for owner, wrapped in rows}


def assert_everything_reads(settings: Settings, history: History) -> None:
    with TestClient(create_app(settings, clock=MovableClock())) as client:
        officer = {"Authorization": f"Bearer {mint_token(settings, 'officer', 'olga')}"}
        for subject, (name, email, phone) in zip(history.subjects, PEOPLE):
            seen = client.get(f"/v1/subjects/{subject}", headers=officer, params=WHY).json()
            assert (seen["name"], seen["email"], seen["phone"]) == (name, email, phone), seen
            assert client.app.state.read.subject_by_email(email.upper()) is not None  # type: ignore[attr-defined]
        assert client.get(f"/v1/subjects/{history.erased}", headers=officer, params=WHY).json()["erased"]
        # A link mailed before the rotation still unsubscribes.
        assert client.post(history.unsubscribe_path).status_code == 200
        # And new people get keys the new master key wraps.
        system = {"Authorization": f"Bearer {mint_token(settings, 'system', 'crm')}"}
        made = client.post("/v1/subjects", json={"name": "Eva", "email": "eva@example.org"},
                           headers=system)
        assert made.status_code == 201, made.text
        seen = client.get(f"/v1/subjects/{made.json()['id']}", headers=officer,
                          params={"min_position": made.json()["position"], **WHY})
        assert seen.json()["name"] == "Eva"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rotating_the_master_key_rewraps_every_data_key_and_changes_no_event(place: Place) -> None:
    history = make_history(place.settings())
    assert run("seal").exit_code == 0  # a signed checkpoint for verify to check
    old_key = place.key_file.read_text()
    events_before = events_of(place.settings())
    keys_before = data_keys_of(place.settings())

    result = run("keys", "rotate-master")

    assert result.exit_code == 0, result.output
    live = [owner for owner, wrapped in keys_before.items() if wrapped is not None]
    assert f"Re-wrapped {len(live)} data keys" in result.output
    assert events_of(place.settings()) == events_before  # byte for byte, every stored event
    keys_after = data_keys_of(place.settings())
    assert keys_after.keys() == keys_before.keys()
    new_master = MasterKey(base64.b64decode(place.key_file.read_text()))
    old_master = MasterKey(base64.b64decode(old_key))
    for owner, wrapped in keys_before.items():
        if wrapped is None:
            assert keys_after[owner] is None  # shredded stays shredded
            continue
        after = keys_after[owner]
        assert after is not None and after != wrapped
        assert new_master.unwrap(UUID(owner), after) == old_master.unwrap(UUID(owner), wrapped)
        with pytest.raises(InvalidTag):
            old_master.unwrap(UUID(owner), after)

    assert place.key_file.read_text() != old_key and _mode(place.key_file) == 0o600
    kept = list(place.data_dir.glob("master.key.old-*"))
    assert len(kept) == 1 and kept[0].read_text() == old_key and _mode(kept[0]) == 0o600
    assert not (place.data_dir / "master.key.new").exists()

    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    assert_everything_reads(place.settings(), history)


def test_a_process_that_kept_the_old_key_refuses_to_make_keys_nobody_could_open(
    place: Place,
) -> None:
    make_history(place.settings())
    stale = open_stores(place.settings())
    try:
        old = place.key_file.read_text()
        assert run("keys", "rotate-master").exit_code == 0
        owners_before = set(data_keys_of(place.settings()))

        with pytest.raises(MasterKeyMismatch, match="rotate-master"):
            stale.ledger.register_subject("Frits", "frits@example.org", "crm")
        assert set(data_keys_of(place.settings())) == owners_before
    finally:
        stale.close()
    with pytest.raises(MasterKeyMismatch):
        create_app(place.settings(master_key=old.strip()), clock=MovableClock())


def test_with_the_key_in_the_environment_the_new_key_comes_from_a_file(
    sqlite_place: Place, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = base64.b64encode(os.urandom(32)).decode()
    monkeypatch.setenv("LEDGER_MASTER_KEY", old)
    history = make_history(sqlite_place.settings())

    refused = run("keys", "rotate-master")
    assert refused.exit_code == 2 and "--new-key-file" in refused.output

    new = base64.b64encode(os.urandom(32)).decode()
    new_file = tmp_path / "new-master.key"
    new_file.write_text(new + "\n")
    result = run("keys", "rotate-master", "--new-key-file", str(new_file))
    assert result.exit_code == 0, result.output
    assert "Set LEDGER_MASTER_KEY" in " ".join(result.output.split())
    assert not sqlite_place.key_file.exists()  # nothing written into the data dir

    monkeypatch.setenv("LEDGER_MASTER_KEY", new)
    assert run("verify").exit_code == 0
    assert_everything_reads(sqlite_place.settings(), history)
    with pytest.raises(MasterKeyMismatch):
        create_app(sqlite_place.settings(master_key=old), clock=MovableClock())


def test_a_rotation_interrupted_after_its_commit_is_finished_by_running_it_again(
    sqlite_place: Place,
) -> None:
    history = make_history(sqlite_place.settings())
    old = keyfiles.master_key(sqlite_place.settings())
    new = os.urandom(32)
    # What a crash between the commit and the renames leaves: the store under the new key,
    # master.key still the old one, master.key.new the new one.
    (sqlite_place.data_dir / "master.key.new").write_bytes(base64.b64encode(new))
    stores = open_stores(sqlite_place.settings())
    try:
        stores.keys.rotate_master(old, new)
    finally:
        stores.close()
    with pytest.raises(MasterKeyMismatch):
        create_app(sqlite_place.settings(), clock=MovableClock())

    result = run("keys", "rotate-master")

    assert result.exit_code == 0 and "Finished an interrupted rotation" in result.output
    assert base64.b64decode(sqlite_place.key_file.read_text()) == new
    assert_everything_reads(sqlite_place.settings(), history)


def test_a_new_key_left_by_a_rotation_that_never_committed_is_discarded(sqlite_place: Place) -> None:
    history = make_history(sqlite_place.settings())
    leftover = os.urandom(32)
    (sqlite_place.data_dir / "master.key.new").write_bytes(base64.b64encode(leftover))

    result = run("keys", "rotate-master", "--remove-old")

    assert result.exit_code == 0, result.output
    assert base64.b64decode(sqlite_place.key_file.read_text()) != leftover
    assert not list(sqlite_place.data_dir.glob("master.key.old-*"))  # --remove-old
    assert_everything_reads(sqlite_place.settings(), history)


def test_rebuilding_the_read_models_from_the_cli_after_a_rotation_keeps_the_email_lookup(
    sqlite_place: Place,
) -> None:
    history = make_history(sqlite_place.settings())
    assert run("keys", "rotate-master").exit_code == 0

    rebuilt = run("projections", "rebuild")

    assert rebuilt.exit_code == 0, rebuilt.output
    with TestClient(create_app(sqlite_place.settings(), clock=MovableClock())) as client:
        read = client.app.state.read  # type: ignore[attr-defined]
        assert str(read.subject_by_email(PEOPLE[0][1])) == history.subjects[0]
