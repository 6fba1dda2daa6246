"""An erasure is final in every copy of the store once the last key-encryption key (KEK) that
ever wrapped the person's data key is destroyed, and not before.

Erasing sets the data key's row to NULL, but older bytes of that row outlive it: a copy of the
SQLite file and its write-ahead log taken before the erasure (a backup), the same files taken
after it while a reader still holds an old snapshot (the log keeps the old pages), and the dead
tuple left in a PostgreSQL heap page (VACUUM frees it without zeroing). These tests behave like
someone who has such a copy and every KEK the ledger still holds (every file of the key
directory): they try to unwrap every 60-byte window of the copy (nonce ‖ AES-GCM of a 32-byte
data key, with the subject's UUID as associated data). They never look up the stored wrapping
to find it.

- Before the last KEK that wrapped the key is destroyed the attack works (the data key it gives
  decrypts the name, e-mail, phone and IP from the copy's events; a restored copy reads them),
  so the tests can fail, and `ledger keys status --json` lists the erasure as pending with the
  date it will be final.
- After it, no window of any copy unwraps with any KEK still held, a restored copy reads
  nothing of the person, a `Subject.ErasureBecameFinal` event is written and nothing is pending.

Also: an erasure while a reader holds a snapshot returns promptly and keeps writers waiting at
most a second (the checkpoint that empties the log waits a bounded time, CHECKPOINT_WAIT_MS).
"""

from __future__ import annotations

import base64
import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typer.testing import CliRunner

from api.cli.main import app as cli
from api.services.key_epochs import EpochClose, close_epoch
from api.settings import get_settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.ledger.keys import KeyEncryptionKeyMissing
from domain.personal import ERASED
from domain.ledger.shredding import ENVELOPE, associated_data, open_sealed
from domain.subject import Subject
from tests.conftest import make_settings

NAME = "Quirijn Ødegaard-Vasconcelos"
EMAIL = "quirijn.odegaard@example.net"
PHONE = "+31687654321"
IP_ADDRESS = "203.0.113.7"
PERSONAL = {"name": {NAME}, "email": {EMAIL}, "phone": {PHONE}, "ip_address": {IP_ADDRESS}}
KEPT = 2  # LEDGER_KEY_EPOCHS_KEPT: a KEK is destroyed once 2 newer epochs exist
EPOCH = timedelta(hours=24)  # LEDGER_KEY_EPOCH_HOURS, the default
NONCE, WRAPPED = 12, 60  # a wrapped data key: 12-byte nonce + 32-byte key + 16-byte tag

Copy = dict[str, bytes]  # file name -> its bytes, as taken at one moment
# What a plain sqlite3 reader sees of the subject's data key in its snapshot.
HOLDS_KEY = "SELECT COUNT(*) FROM data_keys WHERE owner_id = ? AND wrapped_key IS NOT NULL"


# --- the attacker's side ---------------------------------------------------------------------


def held_keks(key_dir: Path) -> dict[str, AESGCM]:
    """Every KEK the ledger still holds: every file in the key directory (each must be one)."""
    keks = {}
    for file in sorted(key_dir.iterdir()):
        if file.is_file():
            raw = base64.b64decode(file.read_bytes().strip())
            assert len(raw) == 32, f"{file} is not a key-encryption key"
            keks[file.name] = AESGCM(raw)
    return keks


@dataclass(frozen=True)
class Unwrapped:
    file: str
    offset: int
    kek: str
    data_key: bytes


@dataclass
class Scan:
    found: list[Unwrapped]
    scanned_bytes: int
    distinct_windows: int
    seconds: float

    def __str__(self) -> str:
        return (f"{self.scanned_bytes:,} bytes, {self.distinct_windows:,} distinct windows, "
                f"{len(self.found)} unwrapped, {self.seconds:.2f}s")


def unwrap_every_window(copy: Copy, owner: UUID, keks: dict[str, AESGCM]) -> Scan:
    """Tries every 60-byte window of every file of the copy, at every offset, as a data key
    wrapped for `owner`, with every KEK.

    A window is tried once however often its bytes occur: a write-ahead log holds many copies
    of the same pages, and the same bytes unwrap the same way wherever they are. Every offset
    is covered, yet the distinct windows are some 15 to 30 times fewer than the offsets
    (measured: two copies of a store of 20 people, ~1.5 MB, took 7 s with two KEKs trying
    every offset, 0.35 s trying each distinct window once)."""
    started = time.monotonic()
    windows: dict[bytes, tuple[str, int]] = {}
    for name, data in copy.items():
        for offset in range(len(data) - WRAPPED + 1):
            windows.setdefault(data[offset:offset + WRAPPED], (name, offset))
    aad = owner.bytes
    found = []
    for window, (name, offset) in windows.items():
        nonce, sealed = window[:NONCE], window[NONCE:]
        for kek_name, kek in keks.items():
            try:
                found.append(Unwrapped(name, offset, kek_name, kek.decrypt(nonce, sealed, aad)))
            except InvalidTag:
                pass
    size = sum(len(data) for data in copy.values())
    return Scan(found, size, len(windows), time.monotonic() - started)


def open_personal_fields(
    events: Iterable[tuple[Any, int, str, bytes]], owner: UUID, data_keys: Iterable[bytes]
) -> tuple[int, dict[str, set[Any]]]:
    """Every sealed personal field of `owner` in the events (originator id, version, topic,
    state) and what each of `data_keys` opens of them (domain/ledger/shredding.py's envelope)."""
    keys = list(data_keys)
    sealed, opened = 0, {}
    for originator_id, version, topic, state in events:
        for field, value in json.loads(bytes(state)).items():
            if not (isinstance(value, dict) and ENVELOPE in value and value.get("k") == str(owner)):
                continue
            sealed += 1
            aad = associated_data(UUID(str(originator_id)), int(version), topic, field)
            for key in keys:
                try:
                    plain = open_sealed(key, value[ENVELOPE], aad)
                except InvalidTag:
                    continue
                opened.setdefault(field, set()).add(plain)
    return sealed, opened


def report(took: dict[str, float], scans: dict[str, Scan]) -> None:
    """Timings, for `pytest -s`."""
    lines = [f"{what}: {seconds:.2f}s" for what, seconds in took.items()]
    lines += [f"scan of {what}: {scan}" for what, scan in scans.items()]
    print("\n" + "\n".join(lines))


# --- the ledger's side -----------------------------------------------------------------------


def keys_status() -> dict[str, Any]:
    """`ledger keys status --json`, with the LEDGER_* environment the test set."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["keys", "status", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def use_store_in_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, data_dir: Path
) -> None:
    """The LEDGER_* environment `ledger keys status` reads: the test's store and data dir."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in ("LEDGER_MASTER_KEY", "LEDGER_KEY_DIR", "LEDGER_KEY_EPOCH_HOURS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LEDGER_DATABASE_URL", url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("LEDGER_KEY_EPOCHS_KEPT", str(KEPT))


def final_events(stores: Stores, subject: UUID) -> list[Any]:
    return [e for e in stores.ledger.subject_events(subject)
            if isinstance(e, Subject.ErasureBecameFinal)]


def epoch_opened(status: dict[str, Any], epoch: int) -> datetime:
    opened = next(e["opened_at"] for e in status["epochs"] if e["epoch"] == epoch)
    return datetime.fromisoformat(opened)


def close_next_epoch(stores: Stores, clock: MovableClock) -> EpochClose:
    """A day later, as the sweep would."""
    clock.move(hours=EPOCH.total_seconds() / 3600)
    return close_epoch(stores.ledger, stores.epochs)


def still_pending(stores: Stores, subject: UUID) -> datetime:
    """Status lists the erasure as pending over epochs 1-2, and no finality event exists yet;
    returns the date status says it will be final."""
    status = keys_status()
    assert_pending(status, subject, first=1, last=2)
    assert not final_events(stores, subject)
    return datetime.fromisoformat(status["pending_erasures"][0]["final_by"])


def close_epoch_4_destroying_kek_2(
    stores: Stores, clock: MovableClock, key_dir: Path, subject: UUID
) -> tuple[EpochClose, dict[str, AESGCM]]:
    """The close that destroys the KEK of epoch 2, the last that wrapped the subject's key;
    returns it and the KEKs still held."""
    closed = close_next_epoch(stores, clock)
    assert closed.report.opened == 4 and closed.report.destroyed == [2]
    assert subject in {f.owner_id for f in closed.final}
    keks = held_keks(key_dir)
    assert sorted(keks) == ["epoch-00000003.kek", "epoch-00000004.kek"]
    return closed, keks


def a_history(stores: Stores, others: int) -> UUID:
    """A few people, and the one who will be erased (with a consent given from an IP)."""
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme Loodgieters", "officer-1").aggregate.id
    for number in range(others):
        ledger.register_subject(
            f"Someone Else {number}", f"else{number}@example.org", "app", tenant
        )
    subject = ledger.register_subject(NAME, EMAIL, "app", tenant, PHONE).aggregate.id
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app", ip_address=IP_ADDRESS)
    return subject


def assert_pending(status: dict[str, Any], subject: UUID, first: int, last: int) -> None:
    pending = [p for p in status["pending_erasures"] if p["owner_id"] == str(subject)]
    assert len(pending) == 1, status
    assert pending[0]["kind"] == "subject"
    assert (pending[0]["first_epoch"], pending[0]["last_epoch"]) == (first, last)
    # Final when the KEK of `last` goes: at the opening of epoch last + KEPT, if every epoch
    # from the current one on closes on time (one epoch length after it opened).
    current = max(e["epoch"] for e in status["epochs"])
    expected = epoch_opened(status, current) + max(1, last + KEPT - current) * EPOCH
    assert datetime.fromisoformat(pending[0]["final_by"]) == expected, pending[0]


# --- SQLite ----------------------------------------------------------------------------------


def copy_sqlite_files(db_file: Path) -> Copy:
    """Every byte of the database file, its write-ahead log and shared memory, right now."""
    copy = {}
    for suffix in ("", "-wal", "-shm"):
        file = db_file.with_name(db_file.name + suffix)
        if file.exists():
            copy[file.name] = file.read_bytes()
    assert copy.get(db_file.name + "-wal"), "the store runs in WAL mode"
    return copy


def restore(copy: Copy, into: Path, db_name: str) -> Path:
    """The copy as files again, in a directory of its own (opening them changes them)."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    for name, data in copy.items():
        (into / name).write_bytes(data)
    return into / db_name


def events_in_sqlite_copy(
    copy: Copy, into: Path, db_name: str
) -> list[tuple[Any, int, str, bytes]]:
    """The stored events as the copy has them (read from the copy, not from the store)."""
    conn = sqlite3.connect(restore(copy, into, db_name))
    try:
        return conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events"
        ).fetchall()
    finally:
        conn.close()


def name_read_from_restored_copy(
    copy: Copy, into: Path, db_name: str, key_dir: Path, clock: MovableClock, subject: UUID
) -> str | None:
    """The copy restored as a store of its own with the KEKs held today: the subject's name as
    the ledger reads it, or None when it refuses because the KEK is gone."""
    db_file = restore(copy, into, db_name)
    settings = make_settings(f"sqlite:///{db_file}", into / "var", key_dir=key_dir,
                             key_epochs_kept=KEPT)
    stores = open_stores(settings, clock=clock)
    try:
        return str(stores.ledger.subject(subject).name)
    except KeyEncryptionKeyMissing:
        return None
    finally:
        stores.close()


def test_an_erased_subject_can_be_read_from_old_sqlite_copies_until_its_last_kek_is_destroyed_and_never_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two old copies of the SQLite files (a backup before the erasure; the files after it,
    while a reader's snapshot keeps the old pages in the log), then one epoch close at a time."""
    clock = MovableClock()
    db_file = tmp_path / "ledger.sqlite"
    url, data_dir = f"sqlite:///{db_file}", tmp_path / "var"
    key_dir = data_dir / "keys"
    use_store_in_cli(monkeypatch, tmp_path, url, data_dir)
    took: dict[str, float] = {}
    scans: dict[str, Scan] = {}
    stores = open_stores(make_settings(url, data_dir, key_epochs_kept=KEPT), clock=clock)
    try:
        subject = a_history(stores, others=5)
        # Made in epoch 1, re-wrapped under epoch 2 by this close: two KEKs ever wrapped it.
        assert close_next_epoch(stores, clock).report.opened == 2

        reader = sqlite3.connect(db_file, isolation_level=None)
        try:
            reader.execute("BEGIN")
            assert reader.execute(HOLDS_KEY, (str(subject),)).fetchone() == (1,)
            copies = {"taken before the erasure": copy_sqlite_files(db_file)}

            clock.move(hours=1)
            started = time.monotonic()
            stores.ledger.erase_subject(subject, "officer-1")
            took["erasure"] = time.monotonic() - started
            assert took["erasure"] < 1.5, "an erasure waits for a reader a bounded time"

            copies["taken after it, a reader holding a snapshot"] = copy_sqlite_files(db_file)
            # The reader really held its snapshot across the erasure.
            assert reader.execute(HOLDS_KEY, (str(subject),)).fetchone() == (1,)
        finally:
            if reader.in_transaction:
                reader.execute("ROLLBACK")
            reader.close()

        # --- epoch 3: the KEK of epoch 1 is destroyed, that of epoch 2 is not -----------------
        closed = close_next_epoch(stores, clock)
        assert closed.report.opened == 3 and closed.report.destroyed == [1]
        assert subject not in {f.owner_id for f in closed.final}
        keks = held_keks(key_dir)
        assert sorted(keks) == ["epoch-00000002.kek", "epoch-00000003.kek"]
        for what, copy in copies.items():
            scan = unwrap_every_window(copy, subject, keks)
            scans[f"the copy {what}, {len(keks)} KEKs"] = scan
            found = scan.found
            assert found, f"the copy {what} unwraps with a KEK still held"
            assert {hit.kek for hit in found} == {"epoch-00000002.kek"}, found
            events = events_in_sqlite_copy(copy, tmp_path / "restored", db_file.name)
            sealed, opened = open_personal_fields(events, subject, {h.data_key for h in found})
            assert sealed == len(PERSONAL)
            assert opened == PERSONAL, (what, opened)
        assert name_read_from_restored_copy(
            copies["taken before the erasure"], tmp_path / "restored", db_file.name, key_dir,
            clock, subject,
        ) == NAME, "a backup from before the erasure, restored, still reads the person"
        final_by = still_pending(stores, subject)

        # --- epoch 4: the KEK of epoch 2, the last that wrapped the key, is destroyed --------
        closed, keks = close_epoch_4_destroying_kek_2(stores, clock, key_dir, subject)
        copies["of the live store now"] = copy_sqlite_files(db_file)
        for what, copy in copies.items():
            scan = unwrap_every_window(copy, subject, keks)
            scans[f"the copy {what}, {len(keks)} KEKs (final)"] = scan
            found = scan.found
            assert found == [], f"the copy {what} still unwraps: {found}"
            # Every data key the copy still gives (none) against the ciphertexts it holds.
            events = events_in_sqlite_copy(copy, tmp_path / "restored", db_file.name)
            sealed, opened = open_personal_fields(events, subject, {h.data_key for h in found})
            assert sealed == len(PERSONAL), "the ciphertexts are still in the copy"
            assert opened == {}, "and nothing opens them"
        assert name_read_from_restored_copy(
            copies["taken before the erasure"], tmp_path / "restored", db_file.name, key_dir,
            clock, subject,
        ) in (None, ERASED), "a restored backup reads nothing of the person any more"
        assert stores.ledger.subject(subject).name == ERASED

        (final,) = final_events(stores, subject)
        assert final.last_key_epoch == 2
        assert final.timestamp == clock.now() == final_by, "final on the date status gave"
        status = keys_status()
        assert status["pending_erasures"] == []
        assert [e["epoch"] for e in status["epochs"] if e["destroyed_at"]] == [1, 2]
    finally:
        stores.close()
    report(took, scans)


def test_writers_wait_at_most_a_second_while_an_erasure_meets_a_reader_holding_a_snapshot(
    tmp_path: Path,
) -> None:
    """The erasure's checkpoint cannot empty the log while the reader holds its snapshot, and
    while it waits no one may write: it gives up after CHECKPOINT_WAIT_MS instead of 30 s."""
    clock = MovableClock()
    db_file = tmp_path / "ledger.sqlite"
    stores = open_stores(
        make_settings(f"sqlite:///{db_file}", tmp_path / "var", key_epochs_kept=KEPT), clock=clock
    )
    plain = sqlite3.connect(db_file, isolation_level=None, timeout=30, check_same_thread=False)
    reader = sqlite3.connect(db_file, isolation_level=None)
    try:
        plain.execute("CREATE TABLE writer_probe (n INTEGER)")
        subject = a_history(stores, others=0)
        other = stores.ledger.register_subject("Pim Kwakkel", "pim@example.org", "app").aggregate.id
        stop, errors = threading.Event(), []
        writes: dict[str, list[tuple[float, float]]] = {"a plain sqlite3 writer": [],
                                                        "the ledger": []}

        def plain_writer() -> None:
            number = 0
            while not stop.is_set():
                started = time.monotonic()
                plain.execute("INSERT INTO writer_probe (n) VALUES (?)", (number,))
                writes["a plain sqlite3 writer"].append((started, time.monotonic()))
                number += 1
                time.sleep(0.005)

        def ledger_writer() -> None:
            given = False
            while not stop.is_set():
                started = time.monotonic()
                if given:
                    stores.ledger.withdraw_consent(other, "info_mail", "web_form", "app")
                else:
                    stores.ledger.give_consent(other, "info_mail", "web_form", "v1", "app")
                writes["the ledger"].append((started, time.monotonic()))
                given = not given
                time.sleep(0.005)

        def running(target: Any) -> Any:
            def run() -> None:
                try:
                    target()
                except BaseException as error:  # reported below, not lost in the thread
                    errors.append(error)
            return run

        threads = [threading.Thread(target=running(t), daemon=True)
                   for t in (plain_writer, ledger_writer)]
        reader.execute("BEGIN")
        assert reader.execute(HOLDS_KEY, (str(subject),)).fetchone() == (1,)
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.3)
            erase_started = time.monotonic()
            stores.ledger.erase_subject(subject, "officer-1")
            erase_ended = time.monotonic()
            time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=35)
        assert not errors, errors
        assert reader.execute(HOLDS_KEY, (str(subject),)).fetchone() == (1,), (
            "the reader held its snapshot throughout"
        )
        assert stores.keys.get(subject) is None

        erasure = erase_ended - erase_started
        assert erasure < 1.5, f"the erasure took {erasure:.2f}s"
        longest = {}
        for writer, spans in writes.items():
            during = [s for s in spans if s[0] < erase_ended and s[1] > erase_started]
            assert during, f"{writer} wrote nothing while the erasure ran"
            longest[writer] = max(end - start for start, end in spans)
            assert longest[writer] <= 1.0, f"{writer} waited {longest[writer]:.2f}s for one write"
        report({"erasure": erasure, **{f"longest write of {w}": s for w, s in longest.items()}},
               {})
    finally:
        reader.close()
        plain.close()
        stores.close()


# --- PostgreSQL ------------------------------------------------------------------------------


def raw_heap(conn: Any, table: str) -> Copy:
    """Every block of the table's heap as PostgreSQL has it on disk (pageinspect)."""
    blocks = conn.execute(
        "SELECT pg_relation_size(%s) / current_setting('block_size')::int", (table,)
    ).fetchone()[0]
    assert blocks > 0
    return {
        f"{table} block {number}": bytes(
            conn.execute("SELECT get_raw_page(%s, %s)", (table, number)).fetchone()[0]
        )
        for number in range(blocks)
    }


def test_an_erased_subject_can_be_read_from_the_postgresql_heap_until_its_last_kek_is_destroyed_and_never_after(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old copy is the raw heap of `data_keys` (pageinspect) after the erasure, where the
    dead tuple still holds the wrapped key, and again after VACUUM."""
    import psycopg

    from tests.conftest import _conninfo

    clock = MovableClock()
    data_dir = tmp_path / "var"
    key_dir = data_dir / "keys"
    use_store_in_cli(monkeypatch, tmp_path, pg_url, data_dir)
    scans: dict[str, Scan] = {}
    stores = open_stores(make_settings(pg_url, data_dir, key_epochs_kept=KEPT), clock=clock)
    conn = psycopg.connect(_conninfo(pg_url), autocommit=True)
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        subject = a_history(stores, others=3)
        assert close_next_epoch(stores, clock).report.opened == 2  # wrapped by epochs 1 and 2
        clock.move(hours=1)
        stores.ledger.erase_subject(subject, "officer-1")
        assert conn.execute(
            "SELECT wrapped_key IS NULL FROM public.data_keys WHERE owner_id = %s", (str(subject),)
        ).fetchone() == (True,)
        # The dead tuple of before the erasure is still in the page. VACUUM frees its space
        # and compacts the page without zeroing what is left over: here the wrapping of epoch 2
        # survived it (one window unwrapped in every run), but that depends on the page's
        # layout, so only the heap of before VACUUM must unwrap; after the destruction, neither.
        copies = {"of the heap after the erasure": raw_heap(conn, "public.data_keys")}
        conn.execute("VACUUM public.data_keys")
        copies["of the heap after VACUUM"] = raw_heap(conn, "public.data_keys")
        events = [(e.originator_id, e.originator_version, e.topic, e.state)
                  for e in stores.ledger.recorder.select_events(subject)]

        # --- epoch 3: the KEK of epoch 1 is destroyed, that of epoch 2 is not -----------------
        closed = close_next_epoch(stores, clock)
        assert closed.report.opened == 3 and closed.report.destroyed == [1]
        keks = held_keks(key_dir)
        assert sorted(keks) == ["epoch-00000002.kek", "epoch-00000003.kek"]
        for what, copy in copies.items():
            scans[f"the copy {what}, {len(keks)} KEKs"] = unwrap_every_window(copy, subject, keks)
        found = scans["the copy of the heap after the erasure, 2 KEKs"].found
        assert found, "the dead tuple in the heap unwraps with a KEK still held"
        assert {hit.kek for hit in found} == {"epoch-00000002.kek"}, found
        sealed, opened = open_personal_fields(events, subject, {h.data_key for h in found})
        assert sealed == len(PERSONAL)
        assert opened == PERSONAL, opened
        final_by = still_pending(stores, subject)

        # --- epoch 4: the KEK of epoch 2, the last that wrapped the key, is destroyed --------
        closed, keks = close_epoch_4_destroying_kek_2(stores, clock, key_dir, subject)
        copies["of the heap now"] = raw_heap(conn, "public.data_keys")
        for what, copy in copies.items():
            scan = unwrap_every_window(copy, subject, keks)
            scans[f"the copy {what}, {len(keks)} KEKs (final)"] = scan
            assert scan.found == [], f"the copy {what} still unwraps: {scan.found}"
        sealed, opened = open_personal_fields(
            [(e.originator_id, e.originator_version, e.topic, e.state)
             for e in stores.ledger.recorder.select_events(subject)],
            subject, set(),
        )
        assert sealed == len(PERSONAL) and opened == {}
        assert stores.ledger.subject(subject).name == ERASED

        (final,) = final_events(stores, subject)
        assert final.last_key_epoch == 2
        assert final.timestamp == clock.now() == final_by, "final on the date status gave"
        status = keys_status()
        assert status["pending_erasures"] == []
    finally:
        conn.close()
        stores.close()
    report({}, scans)
