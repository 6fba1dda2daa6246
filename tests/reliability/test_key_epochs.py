"""`ledger keys close-epoch`: every data key under a new key-encryption key, not one event changed.

After a close everything still reads (names, emails and phones decrypt through the API, the
email lookup finds people, unsubscribe links mailed before still work), `ledger verify` passes,
old KEKs are destroyed on schedule, erasures become final, and running processes need no restart.
"""

from __future__ import annotations

import base64
import json
import stat
import time
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
from domain.clock import MovableClock
from domain.ledger.keys import KeyEncryptionKey
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
    def key_dir(self) -> Path:
        return self.data_dir / "keys"

    def kek(self, epoch: int) -> KeyEncryptionKey:
        raw = (self.key_dir / f"epoch-{epoch:08d}.kek").read_text()
        return KeyEncryptionKey(base64.b64decode(raw))


def _place(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEDGER_MASTER_KEY", raising=False)
    monkeypatch.setenv("LEDGER_KEY_EPOCHS_KEPT", "2")
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
    erasure_request: str


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
    return History(subjects, gone, link[len(settings.public_url.rstrip("/")):], erasure)


def events_of(settings: Settings) -> list[Any]:
    stores = open_stores(settings)
    try:
        return list(stores.ledger.recorder.select_notifications(1, 1_000_000))
    finally:
        stores.close()


def data_keys_of(settings: Settings) -> dict[str, tuple[bytes | None, int | None]]:
    stores = open_stores(settings)
    try:
        rows = stores.db.fetchall("SELECT owner_id, wrapped_key, epoch FROM data_keys")
    finally:
        stores.close()
    return {
        owner: (None if wrapped is None else bytes(wrapped), epoch)
        for owner, wrapped, epoch in rows
    }


def status(**env: str) -> dict[str, Any]:
    result = run("keys", "status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


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
        # And new people get keys the new epoch's KEK wraps.
        system = {"Authorization": f"Bearer {mint_token(settings, 'system', 'crm')}"}
        made = client.post("/v1/subjects", json={"name": "Eva", "email": "eva@example.org"},
                           headers=system)
        assert made.status_code == 201, made.text
        seen = client.get(f"/v1/subjects/{made.json()['id']}", headers=officer,
                          params={"min_position": made.json()["position"], **WHY})
        assert seen.json()["name"] == "Eva"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_closing_an_epoch_rewraps_every_data_key_under_a_new_kek_and_changes_no_event(
    place: Place,
) -> None:
    history = make_history(place.settings())
    assert run("seal").exit_code == 0  # a signed checkpoint for verify to check
    events_before = events_of(place.settings())
    keys_before = data_keys_of(place.settings())
    first = place.kek(1)

    result = run("keys", "close-epoch")

    assert result.exit_code == 0, result.output
    live = [owner for owner, (wrapped, _) in keys_before.items() if wrapped is not None]
    assert f"Epoch 2 opened: {len(live)} data keys re-wrapped" in " ".join(result.output.split())
    assert events_of(place.settings()) == events_before  # byte for byte, every stored event
    keys_after = data_keys_of(place.settings())
    assert keys_after.keys() == keys_before.keys()
    second = place.kek(2)
    for owner, (wrapped, epoch) in keys_before.items():
        if wrapped is None:
            assert keys_after[owner][0] is None  # shredded stays shredded
            continue
        after, after_epoch = keys_after[owner]
        assert epoch == 1 and after_epoch == 2 and after is not None and after != wrapped
        assert second.unwrap(UUID(owner), after) == first.unwrap(UUID(owner), wrapped)
        with pytest.raises(InvalidTag):
            first.unwrap(UUID(owner), after)
    assert _mode(place.key_dir) == 0o700
    assert {p.name: _mode(p) for p in place.key_dir.iterdir()} == {
        "epoch-00000001.kek": 0o600, "epoch-00000002.kek": 0o600,
    }

    verified = run("verify")
    assert verified.exit_code == 0, verified.output
    assert_everything_reads(place.settings(), history)


def test_a_kek_is_destroyed_once_the_kept_number_of_newer_epochs_exist(place: Place) -> None:
    history = make_history(place.settings())
    assert run("keys", "close-epoch").exit_code == 0
    assert (place.key_dir / "epoch-00000001.kek").exists()  # one newer epoch; two are kept

    result = run("keys", "close-epoch", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["destroyed"] == [1]
    assert sorted(p.name for p in place.key_dir.iterdir()) == [
        "epoch-00000002.kek", "epoch-00000003.kek",
    ]
    epochs = {e["epoch"]: e for e in status()["epochs"]}
    assert epochs[1]["destroyed_at"] and not epochs[1]["kek_held_here"]
    assert epochs[3]["closed_at"] is None and epochs[3]["kek_held_here"]
    assert run("verify").exit_code == 0
    assert_everything_reads(place.settings(), history)


def test_an_erasure_becomes_final_when_the_last_kek_that_wrapped_its_key_is_destroyed(
    place: Place,
) -> None:
    history = make_history(place.settings())
    pending = status()["pending_erasures"]
    assert [(p["owner_id"], p["kind"], p["last_epoch"]) for p in pending] == [
        (history.erased, "subject", 1)
    ]
    assert pending[0]["final_by"]

    assert run("keys", "close-epoch").exit_code == 0
    assert [p["owner_id"] for p in status()["pending_erasures"]] == [history.erased]
    closed = json.loads(run("keys", "close-epoch", "--json").output)

    assert closed["final_erasures"] == [history.erased]
    assert status()["pending_erasures"] == []
    stores = open_stores(place.settings())
    try:
        final = [e for e in stores.ledger.events.get(UUID(history.erased))
                 if type(e).__name__ == "ErasureBecameFinal"]
    finally:
        stores.close()
    assert len(final) == 1 and final[0].last_key_epoch == 1
    assert json.loads(run("keys", "close-epoch", "--json").output)["final_erasures"] == []
    with TestClient(create_app(place.settings(), clock=MovableClock())) as client:
        officer = {"Authorization": f"Bearer {mint_token(place.settings(), 'officer', 'olga')}"}
        deadline = time.monotonic() + 10
        while True:
            seen = client.get(f"/v1/requests/{history.erasure_request}", headers=officer).json()
            if seen["erasure_final_at"] is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert seen["erasure_final_at"] is not None, seen
        export = client.get(f"/v1/subjects/{history.erased}/export", headers=officer,
                            params={"format": "json", **WHY})
        assert export.status_code == 200, export.text
        sheets = export.json()["sheets"]
        [profile] = sheets["profile"]
        assert profile["erased_at"] and profile["erasure_final_at"] == final[0].timestamp.isoformat()
        assert [row["change"] for row in sheets["profile_history"]][-2:] == [
            "erased", "erasure final in every copy"
        ]


def test_a_running_process_keeps_reading_and_writing_across_closes_without_a_restart(
    place: Place,
) -> None:
    history = make_history(place.settings())
    running = open_stores(place.settings())
    try:
        ann = UUID(history.subjects[0])
        assert running.ledger.subject(ann).name == PEOPLE[0][0]
        for _ in range(3):  # the epoch it started in is destroyed by the third
            assert run("keys", "close-epoch").exit_code == 0
        running.keys.forget_cached()
        assert running.ledger.subject(ann).name == PEOPLE[0][0]
        made = running.ledger.register_subject("Frits", "frits@example.org", "crm").aggregate.id
        assert data_keys_of(place.settings())[str(made)][1] == 4
        assert running.ledger.subject(made).name == "Frits"
    finally:
        running.close()


def test_rotate_master_is_now_closing_an_epoch(place: Place) -> None:
    make_history(place.settings())

    result = run("keys", "rotate-master")

    assert result.exit_code == 0, result.output
    assert "key epochs" in result.output and "Epoch 2 opened" in result.output


def test_a_process_that_cannot_see_the_key_directory_says_where_the_kek_should_be(
    sqlite_place: Place, tmp_path: Path
) -> None:
    history = make_history(sqlite_place.settings())
    elsewhere = sqlite_place.settings(key_dir=tmp_path / "other-machine-keys")
    stores = open_stores(elsewhere)
    try:
        with pytest.raises(Exception, match="LEDGER_KEY_DIR"):
            stores.ledger.subject(UUID(history.subjects[0]))
    finally:
        stores.close()


def test_rebuilding_the_read_models_from_the_cli_after_a_close_keeps_the_email_lookup(
    sqlite_place: Place,
) -> None:
    history = make_history(sqlite_place.settings())
    assert run("keys", "close-epoch").exit_code == 0

    rebuilt = run("projections", "rebuild")

    assert rebuilt.exit_code == 0, rebuilt.output
    with TestClient(create_app(sqlite_place.settings(), clock=MovableClock())) as client:
        read = client.app.state.read  # type: ignore[attr-defined]
        assert str(read.subject_by_email(PEOPLE[0][1])) == history.subjects[0]
