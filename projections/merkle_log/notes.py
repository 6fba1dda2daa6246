"""The log's checkpoints as C2SP signed notes: its origin, its note signatures, witnesses' cosignatures.

Every checkpoint the sealer signs (checkpoints.py, the JSON form) is also signed as a note
(tlog_checkpoint.py) under the log's origin, and kept in the same row of `merkle_checkpoints`.
Witnesses' cosignatures of it (`merkle_cosignatures`) are added to the served note, so a reader
gets one text that the log and its witnesses vouch for.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.merkle_log.checkpoints import Checkpoint
from projections.merkle_log.signed_notes import Note, Signature, Verifier, parse_signature_line
from projections.merkle_log.store import create_tables
from projections.merkle_log.tlog_checkpoint import (
    CheckpointBody,
    check_origin,
    log_verifier,
    sign_checkpoint_note,
)
from projections.storage.database import Database


class OriginMismatch(Exception):
    """LEDGER_LOG_ORIGIN names another log than the one this store holds."""

    def __init__(self, configured: str, stored: str) -> None:
        super().__init__(
            f"LEDGER_LOG_ORIGIN is {configured!r} but this store's log is named {stored!r}: a "
            "log that changes its name is another log to every witness and auditor. Unset "
            "LEDGER_LOG_ORIGIN, or set it to the stored name"
        )


def new_origin(public_url: str) -> str:
    """The public URL's host and port, a fixed path and a random suffix: unique per deployment
    even when two deployments share a host name (every test, every laptop)."""
    host = urlsplit(public_url).netloc.rsplit("@", 1)[-1] or "localhost"
    return check_origin(f"{host}/compliance-ledger/{secrets.token_hex(4)}")


def stored_origin(db: Database) -> str | None:
    create_tables(db)
    row = db.fetchone("SELECT origin FROM merkle_origin WHERE id = 1")
    return str(row[0]) if row else None


def ensure_origin(db: Database, configured: str | None, public_url: str) -> str:
    """The log's origin: the stored one; else the configured one, or a new one, stored now.
    Raises OriginMismatch when the configured one differs from the stored one."""
    if configured is not None:
        check_origin(configured)
    stored = stored_origin(db)
    if stored is None:
        db.execute(
            "INSERT INTO merkle_origin (id, origin) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
            (configured or new_origin(public_url),),
        )
        stored = stored_origin(db)
        assert stored is not None
    if configured is not None and configured != stored:
        raise OriginMismatch(configured, stored)
    return stored


def note_signature(key: Ed25519PrivateKey, origin: str, checkpoint: Checkpoint) -> bytes:
    """The bytes kept in `note_signature`: the signature part of the note's signature line."""
    body = CheckpointBody(origin, checkpoint.tree_size, checkpoint.root_hash)
    return sign_checkpoint_note(body, key).signature


def sign_unsigned_note(db: Database, key: Ed25519PrivateKey, origin: str, checkpoint: Checkpoint) -> None:
    """Gives a checkpoint signed before notes existed its note (the sealer does this for the
    latest one when it starts, so a store from before serves a note at once)."""
    db.execute(
        "UPDATE merkle_checkpoints SET origin = %s, note_signature = %s "
        "WHERE tree_size = %s AND note_signature IS NULL",
        (origin, note_signature(key, origin, checkpoint), checkpoint.tree_size),
    )


def note_at(db: Database, public_key: object, tree_size: int | None = None) -> Note | None:
    """The checkpoint of `tree_size` (default: the latest with a note) as a signed note with
    every cosignature kept for it; None when there is none. `public_key` is the log's key
    (Ed25519, private or public), which the signature line's key id is made from."""
    create_tables(db)
    where = "WHERE tree_size = %s AND note_signature IS NOT NULL" if tree_size is not None else (
        "WHERE note_signature IS NOT NULL ORDER BY tree_size DESC LIMIT 1")
    row = db.fetchone(
        f"SELECT tree_size, root_hash, origin, note_signature FROM merkle_checkpoints {where}",
        (tree_size,) if tree_size is not None else (),
    )
    if row is None:
        return None
    size, root, origin, signature = int(row[0]), bytes(row[1]), str(row[2]), bytes(row[3])
    body = CheckpointBody(origin, size, root)
    own = Signature(origin, log_verifier(origin, public_key).key_id, signature)
    return Note(body.text(), (own, *cosignatures(db, size)))


def save_cosignature(db: Database, tree_size: int, signature: Signature, cosigned_at: int) -> None:
    """Keep a witness's cosignature of the checkpoint now stored for `tree_size`."""
    db.execute(
        "INSERT INTO merkle_cosignatures (tree_size, root_hash, witness, line, cosigned_at) "
        "SELECT tree_size, root_hash, %s, %s, %s FROM merkle_checkpoints WHERE tree_size = %s "
        "ON CONFLICT (tree_size, root_hash, witness) DO NOTHING",
        (signature.name, signature.line(), cosigned_at, tree_size),
    )


# Only cosignatures of the checkpoint stored now: same size AND same root.
_CURRENT = (
    "FROM merkle_cosignatures c JOIN merkle_checkpoints k "
    "ON k.tree_size = c.tree_size AND k.root_hash = c.root_hash"
)


def cosignatures(db: Database, tree_size: int) -> list[Signature]:
    rows = db.fetchall(
        f"SELECT c.line {_CURRENT} WHERE c.tree_size = %s ORDER BY c.witness", (tree_size,)
    )
    return [parse_signature_line(str(row[0])) for row in rows]


def cosignatures_between(db: Database, first: int, last: int) -> dict[int, list[Signature]]:
    """tree size -> the cosignatures of the checkpoints stored for sizes in [first, last]."""
    rows = db.fetchall(
        f"SELECT c.tree_size, c.line {_CURRENT} WHERE c.tree_size >= %s AND c.tree_size <= %s "
        "ORDER BY c.tree_size, c.witness",
        (first, last),
    )
    kept: dict[int, list[Signature]] = {}
    for size, line in rows:
        kept.setdefault(int(size), []).append(parse_signature_line(str(line)))
    return kept


def cosigned_sizes(db: Database, witness: Verifier) -> int | None:
    """The largest tree size `witness` ever cosigned here, or None: the history it vouched for,
    kept even when the checkpoint it cosigned is gone (a wiped log)."""
    row = db.fetchone(
        "SELECT MAX(tree_size) FROM merkle_cosignatures WHERE witness = %s", (witness.name,)
    )
    return int(row[0]) if row and row[0] is not None else None
