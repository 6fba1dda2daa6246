"""An auditor lists every signed checkpoint, a page at a time, each with its C2SP note."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api import keyfiles
from api.bootstrap import open_stores
from domain.clock import MovableClock
from projections.merkle_log.checkpoints import checkpoint_text
from projections.merkle_log.notes import save_cosignature
from projections.merkle_log.sealer import Sealer
from projections.merkle_log.signed_notes import COSIGNATURE_V1, parse_note, signed_by, verifier_for
from projections.merkle_log.tlog_checkpoint import cosign, cosignature_time, log_verifier, parse_checkpoint
from tests.conftest import make_settings
from tests.e2e.conftest import Api, fields_named, open_api


def _record(ledger: Any, subjects: int = 2) -> None:
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)


@pytest.fixture
def listing_api(durable_database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """A store whose first two checkpoints were signed before the log had notes (no origin):
    the app's sealer gives the latest of them its note when it starts, the first stays without."""
    settings = make_settings(durable_database_url, tmp_path / "var", poll_interval_ms=10)
    keyfiles.ensure_all(settings)
    stores = open_stores(settings, clock=clock)
    try:
        for _ in range(2):
            _record(stores.ledger)
            Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings)).seal_pending()
    finally:
        stores.close()
    yield from open_api(settings, clock)


def _seal(api: Api) -> None:
    api.app.state.sealer.seal_pending()


def _all_pages(auditor: Any, limit: int) -> list[list[dict[str, Any]]]:
    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
        response = auditor.get("/v1/audit/checkpoints", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        after = response.json()["next"]
        if after is None:
            return pages


def test_every_signed_checkpoint_is_listed_oldest_first_a_page_at_a_time(listing_api: Api) -> None:
    for _ in range(3):
        _record(listing_api.ledger, subjects=1)
        _seal(listing_api)
    auditor = listing_api.user("auditor", "ada")

    pages = _all_pages(auditor, limit=2)
    everything = auditor.get("/v1/audit/checkpoints", params={"limit": 1000}).json()

    listed = [item for page in pages for item in page]
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 3
    assert listed == everything["items"] and everything["next"] is None
    sizes = [item["tree_size"] for item in listed]
    assert sizes == sorted(set(sizes)) and len(sizes) >= 5
    public = keyfiles.signing_key(listing_api.settings).public_key()
    for item in listed:  # each is the signed JSON checkpoint, as docs/verifying.md §5 checks it
        public.verify(base64.b64decode(item["signature"]), checkpoint_text(
            item["tree_size"], bytes.fromhex(item["root_hash"]), item["timestamp"]))


def test_a_checkpoint_signed_before_notes_lists_a_null_note_and_the_rest_open_with_the_logs_vkey(
    listing_api: Api,
) -> None:
    _record(listing_api.ledger, subjects=1)
    _seal(listing_api)
    auditor = listing_api.user("auditor", "ada")
    latest = auditor.get("/v1/audit/checkpoint").json()
    vkey = log_verifier(latest["origin"], keyfiles.signing_key(listing_api.settings))

    listed = auditor.get("/v1/audit/checkpoints").json()["items"]

    assert listed[0]["note"] is None
    assert all(item["note"] is not None for item in listed[1:]) and len(listed) >= 3
    for item in listed[1:]:
        note = parse_note(item["note"])
        assert signed_by(note, vkey)
        body = parse_checkpoint(note.text)
        assert (body.tree_size, body.root_hash.hex()) == (item["tree_size"], item["root_hash"])
    assert latest["note"] == listed[-1]["note"]
    earliest = auditor.get("/v1/audit/checkpoint", params={"tree_size": listed[0]["tree_size"]})
    assert earliest.json()["note"] is None and earliest.json()["origin"] == latest["origin"]


def test_a_witness_cosignature_is_in_the_listed_note_of_the_checkpoint_it_cosigned(
    listing_api: Api,
) -> None:
    _record(listing_api.ledger, subjects=1)
    _seal(listing_api)
    auditor = listing_api.user("auditor", "ada")
    latest = auditor.get("/v1/audit/checkpoint").json()
    text = parse_note(latest["note"]).text
    witness_key = Ed25519PrivateKey.generate()
    save_cosignature(
        listing_api.app.state.stores.db, latest["tree_size"],
        cosign(text, "witness.example/w1", witness_key, 1_767_000_000), 1_767_000_000,
    )

    listed = auditor.get("/v1/audit/checkpoints").json()["items"]

    witness = verifier_for("witness.example/w1", witness_key, COSIGNATURE_V1)
    by_size = {item["tree_size"]: item["note"] for item in listed}
    assert cosignature_time(parse_note(by_size[latest["tree_size"]]), witness) == 1_767_000_000
    others = [note for size, note in by_size.items() if note and size != latest["tree_size"]]
    assert others and all(cosignature_time(parse_note(n), witness) is None for n in others)
    again = auditor.get("/v1/audit/checkpoint").json()
    assert cosignature_time(parse_note(again["note"]), witness) == 1_767_000_000


def test_only_auditors_list_checkpoints_and_a_foreign_cursor_is_a_422(listing_api: Api) -> None:
    for role in ("staff", "customer", "officer", "system", "witness"):
        tenant = "00000000-0000-4000-8000-000000000001" if role == "customer" else None
        response = listing_api.user(role, "someone", tenant).get("/v1/audit/checkpoints")
        assert response.status_code == 403, (role, response.text)
    assert listing_api.anonymous().get("/v1/audit/checkpoints").status_code == 401

    auditor = listing_api.user("auditor", "ada")
    foreign = auditor.get("/v1/audit/checkpoints", params={"after": "bm90LWEtY3Vyc29y"})
    too_many = auditor.get("/v1/audit/checkpoints", params={"limit": 1001})

    assert fields_named(foreign) == {"after"} and fields_named(too_many) == {"limit"}
