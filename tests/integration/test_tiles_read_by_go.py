"""The log read over HTTP by code we did not write: Go's golang.org/x/mod/sumdb/note opens the
served checkpoint, and golang.org/x/mod/sumdb/tlog recomputes its root from the tiles alone,
proves leaves into it and the tree consistent with an older checkpoint (tests/tlog_client).

A real server on a real socket, on SQLite and PostgreSQL, with two full level-0 tiles and a
partial one, so that full, partial and level-1 tiles are all read.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import keyfiles
from api.bootstrap import Stores, open_stores
from api.http.auth import mint_token
from api.settings import Settings
from projections.merkle_log.notes import stored_origin
from projections.merkle_log.signed_notes import parse_note
from projections.merkle_log.tlog_checkpoint import log_verifier, parse_checkpoint
from tests.browser.conftest import free_port, running_ledger
from tests.conftest import make_settings

CLIENT_SOURCE = Path(__file__).parents[1] / "tlog_client" / "main.go"
# Debian's golang-golang-x-mod-dev: built without modules or network, as CI has neither.
GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "GOPROXY": "off"}
FIRST, SECOND = 300, 320  # events: a checkpoint inside the second tile, then past the second


@pytest.fixture(scope="session")
def tlog_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go client, built once per session."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed (CI installs golang-go and golang-golang-x-mod-dev)")
    folder = tmp_path_factory.mktemp("tlog_client")
    built = folder / "tlog_client"
    done = subprocess.run(
        [go, "build", "-o", str(built), CLIENT_SOURCE.name], cwd=CLIENT_SOURCE.parent,
        env={**os.environ, **GO_ENV, "GOCACHE": str(folder / "cache")},
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"go build failed (golang-golang-x-mod-dev?):\n{done.stderr}"
    return built


@dataclass
class Log:
    url: str
    settings: Settings
    stores: Stores
    vkey: str

    def token(self, role: str) -> str:
        return mint_token(self.settings, role, f"{role}-1")

    def note(self) -> str:
        answer = httpx.get(
            f"{self.url}/v1/log/checkpoint", timeout=10,
            headers={"Authorization": f"Bearer {self.token('witness')}"},
        )
        return answer.text if answer.status_code == 200 else ""

    def record_and_wait(self, subjects: int) -> str:
        """Records `subjects` events through the application layer and waits until the
        served checkpoint covers every event; returns that note."""
        ledger = self.stores.ledger
        tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
        for i in range(subjects - 1):
            ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant)
        events = int(ledger.recorder.max_notification_id() or 0)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            note = self.note()
            if note and parse_checkpoint(parse_note(note).text).tree_size == events:
                return note
            time.sleep(0.05)
        raise AssertionError(f"no checkpoint of {events} leaves was served within 30 s")


@pytest.fixture
def log(durable_database_url: str, tmp_path: Path) -> Iterator[Log]:
    port = free_port()
    settings = make_settings(
        durable_database_url, tmp_path / "var", public_url=f"http://127.0.0.1:{port}",
        poll_interval_ms=10, checkpoint_delay_seconds=0.5,
    )
    with running_ledger(settings, port):
        stores = open_stores(settings)
        try:
            origin = stored_origin(stores.db)
            assert origin is not None
            # What `ledger public-key --vkey` prints (tests/integration/test_checkpoint_notes.py).
            vkey = log_verifier(origin, keyfiles.signing_key(settings)).vkey()
            yield Log(f"http://127.0.0.1:{port}", settings, stores, vkey)
        finally:
            stores.close()


def _client(binary: Path, log: Log, role: str, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [str(binary), "-url", log.url, "-token", log.token(role), "-vkey", log.vkey, *args],
        capture_output=True, text=True, timeout=60,
    )
    return done.returncode, json.loads(done.stdout)


def test_gos_tlog_computes_the_signed_root_and_every_proof_from_the_tiles_alone(
    tlog_client: Path, log: Log, tmp_path: Path
) -> None:
    older = tmp_path / "older-checkpoint"
    older.write_text(log.record_and_wait(FIRST))
    latest = parse_checkpoint(parse_note(log.record_and_wait(SECOND)).text)
    size = latest.tree_size
    assert size > 512 and size % 256, size  # two full level-0 tiles and a partial one
    indexes = ",".join(map(str, (0, 1, 255, 256, FIRST - 1, 511, 512, size - 1)))

    status, seen = _client(
        tlog_client, log, "witness", "-indexes", indexes, "-old-note", str(older)
    )
    assert status == 0, seen
    assert (seen["size"], seen["tree_hash"]) == (size, seen["root"])
    assert seen["origin"] == latest.origin and seen["consistent_with"] == FIRST
    assert [item["index"] for item in seen["included"]] == [int(i) for i in indexes.split(",")]

    # An auditor hashes the leaves from the entry bundles' bytes instead: the same leaves.
    status, audited = _client(tlog_client, log, "auditor", "-indexes", indexes, "-entries")
    assert status == 0, audited
    assert audited["included"] == seen["included"]


def test_one_flipped_stored_leaf_hash_makes_gos_client_refuse_the_tiles(
    tlog_client: Path, log: Log
) -> None:
    log.record_and_wait(FIRST)
    flip = "UPDATE merkle_leaves SET leaf_hash = %s WHERE leaf_index = %s"

    # Under a full tile: the root still comes out of the level-1 tile, but the leaf's tile
    # does not hash to it, so the leaf cannot be proved.
    log.stores.db.execute(flip, (bytes(32), 7))
    status, seen = _client(tlog_client, log, "witness", "-indexes", "7")
    assert status == 1 and "CheckRecord(7)" in seen["error"], seen
    # Nor does an auditor get a bundle that the signed root contradicts.
    status, audited = _client(tlog_client, log, "auditor", "-indexes", "7", "-entries")
    assert status == 1 and "503" in audited["error"], audited

    # In the partial tile: the root computed from the tiles is not the signed one.
    log.stores.db.execute(flip, (bytes(32), FIRST - 10))
    status, seen = _client(tlog_client, log, "witness")
    assert status == 1 and "the tiles give root" in seen["error"], seen
