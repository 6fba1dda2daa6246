"""Signed checkpoints: the statement "the first N events hash to this root", signed with Ed25519.

The signature covers exactly these bytes (UTF-8, four lines, each ending in a line feed):

    compliance-ledger checkpoint v1
    <tree size, decimal, no leading zeros>
    <root hash, 64 lowercase hex digits>
    <timestamp, UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ>

The timestamp is signed as the very string that is stored and served, so a verifier rebuilds the
text from the checkpoint's fields without parsing or reformatting any time.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CHECKPOINT_HEADER = "compliance-ledger checkpoint v1"


@dataclass(frozen=True)
class Checkpoint:
    tree_size: int
    root_hash: bytes
    timestamp: str
    signature: bytes

    def text(self) -> bytes:
        return checkpoint_text(self.tree_size, self.root_hash, self.timestamp)

    def as_json(self) -> dict[str, object]:
        """The API's view: hashes in hex, the signature in standard base64."""
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp,
            "signature": base64.b64encode(self.signature).decode(),
        }


def format_timestamp(moment: datetime) -> str:
    """One fixed spelling (microseconds, "Z"), so the signed string never depends on a locale
    or a library's default ISO format."""
    if moment.tzinfo is None:
        raise ValueError("checkpoint times must carry a time zone")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_text(tree_size: int, root_hash: bytes, timestamp: str) -> bytes:
    return f"{CHECKPOINT_HEADER}\n{tree_size}\n{bytes(root_hash).hex()}\n{timestamp}\n".encode()


def sign_checkpoint(
    key: Ed25519PrivateKey, tree_size: int, root_hash: bytes, moment: datetime
) -> Checkpoint:
    timestamp = format_timestamp(moment)
    signature = key.sign(checkpoint_text(tree_size, root_hash, timestamp))
    return Checkpoint(tree_size, bytes(root_hash), timestamp, signature)


def signature_holds(public_key: Ed25519PublicKey, checkpoint: Checkpoint) -> bool:
    try:
        public_key.verify(bytes(checkpoint.signature), checkpoint.text())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# --- the public key, as published -------------------------------------------------------------


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----"), what OpenSSL and most libraries read."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_raw_base64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The 32 raw key bytes in standard base64, for libraries that take raw Ed25519 keys."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_public_key(text: str | bytes) -> Ed25519PublicKey:
    """Accepts either published form: PEM, or the base64 of the 32 raw bytes."""
    data = text.encode() if isinstance(text, str) else bytes(text)
    if b"-----BEGIN" in data:
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except binascii.Error:
        raise ValueError("a public key must be PEM or the base64 of 32 raw bytes") from None
    if len(raw) != 32:
        raise ValueError("a raw Ed25519 public key is exactly 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)
