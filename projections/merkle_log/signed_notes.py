"""C2SP signed notes (https://c2sp.org/signed-note): text, a blank line, signature lines.

    <text, each line ending in a newline>
    <blank line>
    — <key name> base64(4-byte key id || signature)

A key is named and identified: key id = SHA-256(name || "\\n" || type || public key)[:4], and a
verifier key ("vkey") is `name+hex(key id)+base64(type || public key)`. Two types are used
here, both Ed25519: 0x01 signs the note text itself (the log's checkpoint signature) and 0x04 is
a witness's timestamped cosignature (c2sp.org/tlog-cosignature, tlog_checkpoint.py).

The verifier follows the spec's rules: signatures from unknown keys (name and id not both
matching) are ignored; a known key whose signature fails makes the whole note malformed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
KEY_TYPES = (ED25519, COSIGNATURE_V1)
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # what Go's note package allows; more is a note built to be expensive
MAX_NOTE_BYTES = 1 << 20


class NoteError(ValueError):
    """A note, vkey or signature that does not follow the format, or a known key's bad signature."""


def check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, key_type: int, public_raw: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_raw).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A named public key of one signature type."""

    name: str
    key_type: int
    public_raw: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.key_type, self.public_raw)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_raw)

    def vkey(self) -> str:
        material = base64.b64encode(bytes([self.key_type]) + self.public_raw).decode()
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def holds(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


def verifier_for(name: str, key: Ed25519PrivateKey | Ed25519PublicKey, key_type: int = ED25519) -> Verifier:
    return Verifier(check_name(name), key_type, raw_public_key(key))


def parse_vkey(text: str) -> Verifier:
    """`name+hex(key id)+base64(type || key)`; raises NoteError naming what is wrong."""
    # Split at the first two '+' only: the base64 key may hold more of them.
    name, plus, rest = text.strip().partition("+")
    hex_id, plus_too, material = rest.partition("+")
    if not (plus and plus_too):
        raise NoteError("a verifier key is name+keyid+base64key")
    check_name(name)
    try:
        decoded = base64.b64decode(material, validate=True)
        claimed_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise NoteError("a verifier key's id must be hex and its key base64") from None
    if len(decoded) != 33 or decoded[0] not in KEY_TYPES:
        raise NoteError("only Ed25519 verifier keys (types 0x01 and 0x04) are supported")
    verifier = Verifier(name, decoded[0], decoded[1:])
    if len(claimed_id) != 4 or claimed_id != verifier.key_id:
        raise NoteError(f"the verifier key's id {hex_id} does not match its name and key")
    return verifier


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes  # what follows the key id: 64 bytes, or 8 + 64 for a cosignature

    def line(self) -> str:
        encoded = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {encoded}\n"


def parse_signature_line(line: str) -> Signature:
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    parts = line[len(SIGNATURE_PREFIX):].rstrip("\n").split(" ")
    if len(parts) != 2:
        raise NoteError("a signature line is '— <name> <base64>'")
    name, encoded = parts
    check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise NoteError("a signature is not base64") from None
    if len(raw) < 5:
        raise NoteError("a signature is too short to hold a key id")
    return Signature(name, raw[:4], raw[4:])


@dataclass(frozen=True)
class Note:
    text: str  # ends in a newline
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def by(self, verifier: Verifier) -> list[Signature]:
        return [s for s in self.signatures if s.name == verifier.name and s.key_id == verifier.key_id]

    def with_signatures(self, extra: Iterable[Signature]) -> Note:
        return Note(self.text, self.signatures + tuple(extra))


def parse_note(data: str | bytes) -> Note:
    """Splits a note at its last blank line; raises NoteError for anything malformed."""
    if isinstance(data, bytes):
        if len(data) > MAX_NOTE_BYTES:
            raise NoteError("the note is too large")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("a note is UTF-8 text") from None
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError("the note is too large")
    if any(ord(c) < 0x20 and c != "\n" for c in data):
        raise NoteError("a note holds no control characters but newlines")
    split = data.rfind("\n\n")
    if split < 0 or not data.endswith("\n"):
        raise NoteError("a note is text, a blank line and signature lines, each ending in a newline")
    text, lines = data[: split + 1], data[split + 2:].splitlines(keepends=True)
    if not lines or len(lines) > MAX_SIGNATURES:
        raise NoteError(f"a note carries 1 to {MAX_SIGNATURES} signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> Signature:
    """The log's own signature (type 0x01) over the note text."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in a newline and holds no blank line")
    verifier = verifier_for(name, key)
    return Signature(name, verifier.key_id, key.sign(text.encode()))


def signed_by(note: Note, verifier: Verifier) -> bool:
    """True when `verifier` (type 0x01) signed the note; NoteError when its signature is bad."""
    found = note.by(verifier)
    for signature in found:
        if not verifier.holds(note.text.encode(), signature.signature):
            raise NoteError(f"the signature of {verifier.name} does not hold: the note is forged")
    return bool(found)
