"""On SQLite every writing transaction of the file takes its turn on `<file>.writes.lock`
(projections/storage/sqlite_write_turns.py): the event store's commits and the read models'
alike, so writers of several threads and processes wait in the kernel, not in SQLite's
sleeping busy handler. A writer elsewhere holding the turn (here a second holder of the same
file, as another process would be) holds back both until it is done."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.bootstrap import Stores, open_stores
from projections.storage.sqlite_write_turns import WriteTurns
from tests.conftest import make_settings

WAIT = 10.0


@pytest.fixture
def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    opened = open_stores(make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var"))
    try:
        yield opened
    finally:
        opened.close()


def _held_back_while_another_has_the_turn(stores: Stores, write: Callable[[], object]) -> None:
    assert stores.db.path is not None
    elsewhere = WriteTurns(stores.db.path)
    done = threading.Event()

    def writer() -> None:
        write()
        done.set()

    with elsewhere.turn():
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        assert not done.wait(0.5), "the write went ahead while another writer had the turn"
    assert done.wait(WAIT), "the write did not go ahead once the turn was free"
    elsewhere.close()


def test_a_consent_commit_waits_for_the_turn_of_a_writer_elsewhere(sqlite_stores: Stores) -> None:
    ledger = sqlite_stores.ledger
    tenant = ledger.open_tenant("Turns B.V.", "olga").aggregate.id
    subject = ledger.register_subject("Ann", "ann@example.org", "crm", tenant_id=tenant)
    _held_back_while_another_has_the_turn(sqlite_stores, lambda: ledger.give_consent(
        subject.aggregate.id, "info_mail", "web_form", "2026-01", "crm"))
    assert ledger.consent_answer(subject.aggregate.id, "info_mail", None)["allowed"]


def test_a_read_model_write_waits_for_the_turn_of_a_writer_elsewhere(sqlite_stores: Stores) -> None:
    db = sqlite_stores.db
    db.executescript("CREATE TABLE turns_probe (n INTEGER)")
    _held_back_while_another_has_the_turn(
        sqlite_stores, lambda: db.execute("INSERT INTO turns_probe VALUES (1)"))
    assert db.fetchone("SELECT COUNT(*) FROM turns_probe") == (1,)


def test_a_transaction_inside_a_transaction_of_the_same_thread_goes_on(
    sqlite_stores: Stores,
) -> None:
    db = sqlite_stores.db
    assert db.turns is not None
    db.executescript("CREATE TABLE turns_probe (n INTEGER)")
    with db.turns.turn():
        db.execute("INSERT INTO turns_probe VALUES (1)")
    assert db.fetchone("SELECT COUNT(*) FROM turns_probe") == (1,)
