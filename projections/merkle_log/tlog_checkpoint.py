"""C2SP checkpoints (c2sp.org/tlog-checkpoint) and witnesses' cosignatures (c2sp.org/tlog-cosignature).

A checkpoint is the text of a signed note, three lines:

    <origin>                  this log's name, unique per deployment (LEDGER_LOG_ORIGIN)
    <tree size, decimal>
    <root hash, standard base64>

signed by the log's key under the origin's name. A witness cosigns it (type 0x04) with a
timestamp: Ed25519 over "cosignature/v1\\ntime <seconds>\\n" followed by that text, the
signature carrying the 8-byte big-endian timestamp before the 64 signature bytes.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.merkle_log.signed_notes import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    NoteError,
    Signature,
    Verifier,
    check_name,
    sign_note,
    verifier_for,
)

HASH_BYTES = 32
MAX_TREE_SIZE = (1 << 63) - 1


@dataclass(frozen=True)
class CheckpointBody:
    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


def check_origin(origin: str) -> str:
    """An origin is a key name too (the log signs under it): no spaces, no '+', one line."""
    try:
        return check_name(origin)
    except NoteError:
        raise NoteError(f"a log origin must be non-empty, without spaces or '+': {origin!r}") from None


def parse_checkpoint(text: str) -> CheckpointBody:
    """The note text of a checkpoint; extension lines after the root are allowed and ignored."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint is origin, tree size and root hash, one per line")
    origin, size, root = lines[0], lines[1], lines[2]
    check_origin(origin)
    if not size.isdigit() or not size.isascii() or (size != "0" and size.startswith("0")):
        raise NoteError("a checkpoint's tree size is a decimal number without leading zeros")
    if int(size) > MAX_TREE_SIZE:
        raise NoteError("a checkpoint's tree size is too large")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("a checkpoint's root hash is standard base64") from None
    if len(root_hash) != HASH_BYTES:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return CheckpointBody(origin, int(size), root_hash)


def log_verifier(origin: str, key: Ed25519PrivateKey | object) -> Verifier:
    """The log's verifier key: named after its origin, type 0x01."""
    return verifier_for(check_origin(origin), key, ED25519)  # type: ignore[arg-type]


def sign_checkpoint_note(body: CheckpointBody, key: Ed25519PrivateKey) -> Signature:
    return sign_note(body.text(), body.origin, key)


# --- cosignatures -------------------------------------------------------------------------------


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(text: str, name: str, key: Ed25519PrivateKey, timestamp: int) -> Signature:
    """A witness's cosignature/v1 on a checkpoint's note text at `timestamp` (POSIX seconds)."""
    if not 0 < timestamp <= MAX_TREE_SIZE:
        raise NoteError("a cosignature's timestamp is positive")
    verifier = verifier_for(name, key, COSIGNATURE_V1)
    signature = key.sign(cosigned_message(text, timestamp))
    return Signature(name, verifier.key_id, struct.pack(">Q", timestamp) + signature)


def cosignature_time(note: Note, witness: Verifier) -> int | None:
    """When `witness` (a type 0x04 verifier) cosigned the note, or None when it did not;
    NoteError when its cosignature is there but does not hold."""
    if witness.key_type != COSIGNATURE_V1:
        raise NoteError(f"{witness.name}'s key is not a cosignature/v1 (0x04) key")
    latest = None
    for signature in note.by(witness):
        if len(signature.signature) != 8 + 64:
            raise NoteError(f"the cosignature of {witness.name} is not 72 bytes")
        (timestamp,) = struct.unpack(">Q", signature.signature[:8])
        if not witness.holds(cosigned_message(note.text, timestamp), signature.signature[8:]):
            raise NoteError(f"the cosignature of {witness.name} does not hold: the note is forged")
        latest = max(latest or 0, timestamp)
    return latest
