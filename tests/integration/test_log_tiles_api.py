"""/v1/log: the checkpoint note and the tiles as a client reads them, on SQLite and PostgreSQL.

Go's tlog checks the same answers end to end (test_tiles_read_by_go.py); here, what a tile
holds, where the log stops serving, and a damaged store."""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import keyfiles
from domain.clock import MovableClock
from projections.merkle_log.notes import stored_origin
from projections.merkle_log.rfc9162 import root_from_leaf_hashes
from projections.merkle_log.signed_notes import parse_note, signed_by
from projections.merkle_log.tlog_checkpoint import log_verifier, parse_checkpoint
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, open_api, problem

LEAVES = 300  # a full level-0 tile, a partial one, and a partial level-1 tile of one hash


@pytest.fixture
def log_api(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    settings = make_settings(durable_database_url, tmp_path / "var", poll_interval_ms=10)
    yield from open_api(settings, clock)


def _grow(api: Api, events: int) -> None:
    ledger = api.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    for i in range(events - 1):
        ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant)
    api.app.state.sealer.seal_pending()


def _bundle(data: bytes) -> list[bytes]:
    entries = []
    while data:
        (length,) = struct.unpack(">H", data[:2])
        entries.append(data[2:2 + length])
        data = data[2 + length:]
    return entries


def test_the_checkpoint_is_a_signed_note_the_logs_vkey_opens_and_is_not_cached(
    log_api: Api,
) -> None:
    witness = log_api.user("witness", "wanda")
    problem(witness.get("/v1/log/checkpoint"), 404)  # nothing signed yet
    _grow(log_api, 3)

    answer = witness.get("/v1/log/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "no-cache"
    origin = stored_origin(log_api.app.state.stores.db)
    note = parse_note(answer.text)
    assert signed_by(note, log_verifier(origin, keyfiles.signing_key(log_api.settings)))
    body = parse_checkpoint(note.text)
    assert (body.origin, body.tree_size) == (origin, 3) and " " not in body.origin


def test_tiles_hold_the_leaf_hashes_the_subtree_roots_and_the_leaves_bytes(log_api: Api) -> None:
    _grow(log_api, LEAVES)
    auditor = log_api.user("auditor", "aude")
    full = auditor.get("/v1/log/tile/0/000")
    assert full.status_code == 200 and len(full.content) == 8192
    assert full.headers["content-type"] == "application/octet-stream"
    assert full.headers["cache-control"] == "private, max-age=31536000, immutable"
    first = [full.content[i:i + 32] for i in range(0, 8192, 32)]

    partial = auditor.get(f"/v1/log/tile/0/001.p/{LEAVES - 256}").content
    assert len(partial) == (LEAVES - 256) * 32
    level_one = auditor.get("/v1/log/tile/1/000.p/1").content
    assert level_one == root_from_leaf_hashes(first)
    rest = [partial[i:i + 32] for i in range(0, len(partial), 32)]
    note = parse_note(auditor.get("/v1/log/checkpoint").text)
    root = note.text.split("\n")[2]
    assert base64.b64encode(root_from_leaf_hashes(first + rest)).decode() == root

    entries = _bundle(auditor.get("/v1/log/tile/entries/000").content)
    assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == first
    assert entries[0].startswith(b'{"id":1,')
    assert auditor.get("/v1/log/tile/entries/001.p/2").status_code == 200


def test_nothing_beyond_the_latest_checkpoint_is_served(log_api: Api) -> None:
    _grow(log_api, LEAVES)
    _grow(log_api, 2)  # sealed and signed: 302 leaves now
    auditor = log_api.user("auditor", "aude")
    for path in (
        "0/001",  # the second level-0 tile is not full yet
        f"0/001.p/{LEAVES + 2 - 256 + 1}",  # one hash too many
        "1/000",  # a full level-1 tile needs 65536 leaves
        "0/002.p/1",
        "entries/001",
        "2/000.p/1",
        "0/x001/000",
    ):
        body = problem(auditor.get(f"/v1/log/tile/{path}"), 404)
        assert "beyond the latest checkpoint (302 leaves)" in body["detail"], path
    assert auditor.get(f"/v1/log/tile/0/001.p/{LEAVES + 2 - 256}").status_code == 200
    assert "not a tile path" in problem(auditor.get("/v1/log/tile/0/01"), 404)["detail"]


def test_a_deleted_interior_node_or_leaf_is_a_503_not_a_short_tile(log_api: Api) -> None:
    _grow(log_api, LEAVES)
    db = log_api.app.state.stores.db
    auditor = log_api.user("auditor", "aude")
    db.execute("DELETE FROM merkle_nodes WHERE height = 8 AND node_index = 0")
    body = problem(auditor.get("/v1/log/tile/1/000.p/1"), 503)
    assert "lacks stored hashes of tile 1/000.p/1" in body["detail"]

    db.execute("DELETE FROM merkle_leaves WHERE leaf_index = 260")
    problem(auditor.get(f"/v1/log/tile/0/001.p/{LEAVES - 256}"), 503)
    problem(auditor.get(f"/v1/log/tile/entries/001.p/{LEAVES - 256}"), 503)


def test_a_witness_reads_hash_tiles_but_never_an_entry(log_api: Api) -> None:
    _grow(log_api, 3)
    witness: User = log_api.user("witness", "wanda")
    assert witness.get("/v1/log/tile/0/000.p/3").status_code == 200
    # Refused before anything is looked up: malformed or beyond, still 403.
    for path in ("entries/000.p/3", "entries/999", "entries/nonsense"):
        assert "witness may not read entry bundles" in problem(
            witness.get(f"/v1/log/tile/{path}"), 403
        )["detail"]
    problem(witness.get("/v1/audit/events"), 403)
