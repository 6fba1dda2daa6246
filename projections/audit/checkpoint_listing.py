"""Every signed checkpoint, a page at a time, each with its C2SP note and witnesses' cosignatures.

A page is two queries whatever its length: the checkpoints (keyset on tree_size, oldest first)
and the cosignatures kept for the sizes on it. A checkpoint signed before the log had notes
has none (`note` is None); the rest are rendered exactly as /v1/log/checkpoint serves them.
"""

from __future__ import annotations

import base64
from typing import Any

from projections.merkle_log.notes import cosignatures_between
from projections.merkle_log.signed_notes import Note, Signature
from projections.merkle_log.store import create_tables
from projections.merkle_log.tlog_checkpoint import CheckpointBody, log_verifier
from projections.read_models.queries.paging import Page, keyset_page
from projections.storage.database import Database


def checkpoint_page(db: Database, public_key: object, after: str | None, limit: int) -> Page:
    """Items {tree_size, root_hash (hex), timestamp, signature (base64), note (text or None)};
    `public_key` is the log's (its key id is in each note's signature line)."""
    create_tables(db)
    page = keyset_page(
        db, "tree_size, root_hash, timestamp, signature, origin, note_signature", "merkle_checkpoints",
        (), (), after, limit, order=("tree_size",), descending=False, item=_row,
    )
    items = page["items"]
    if items:
        kept = cosignatures_between(db, items[0]["tree_size"], items[-1]["tree_size"])
        key_ids: dict[str, bytes] = {}
        for item in items:
            item["note"] = _note(item, kept.get(item["tree_size"], []), public_key, key_ids)
    for item in items:
        del item["origin"], item["note_signature"]
    return page


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    size, root, timestamp, signature, origin, note_signature = row
    return {
        "tree_size": int(size), "root_hash": bytes(root).hex(), "timestamp": str(timestamp),
        "signature": base64.b64encode(bytes(signature)).decode(),
        "origin": origin, "note_signature": None if note_signature is None else bytes(note_signature),
    }


def _note(
    item: dict[str, Any], cosignatures: list[Signature], public_key: object,
    key_ids: dict[str, bytes],
) -> str | None:
    if item["note_signature"] is None or item["origin"] is None:
        return None
    origin = str(item["origin"])
    if origin not in key_ids:
        key_ids[origin] = log_verifier(origin, public_key).key_id
    body = CheckpointBody(origin, item["tree_size"], bytes.fromhex(item["root_hash"]))
    own = Signature(origin, key_ids[origin], item["note_signature"])
    return Note(body.text(), (own, *cosignatures)).render()
