"""A second opinion on the checkpoint notes, written from the C2SP text alone (signed-note.md,
tlog-checkpoint.md, tlog-cosignature.md) with hashlib, base64 and `cryptography`: the spec's
own example, the key id, the signature line's shape, the base64 root, the cosigned message.
Go's sumdb/note reads the served notes too (tests/integration/test_tiles_read_by_go.py)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from projections.merkle_log.notes import new_origin
from projections.merkle_log.signed_notes import (
    COSIGNATURE_V1,
    Note,
    NoteError,
    parse_note,
    parse_vkey,
    signed_by,
    verifier_for,
)
from projections.merkle_log.tlog_checkpoint import (
    CheckpointBody,
    cosign,
    cosignature_time,
    log_verifier,
    parse_checkpoint,
    sign_checkpoint_note,
)

# signed-note.md, "Verifier keys", "Example".
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3m"
    "FXmRKuwHjG1Yu72IneyaQM=\n"
)
EM_DASH = "\u2014"


def _raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _their_key_id(name: str, key_type: int, public_raw: bytes) -> bytes:
    """signed-note.md: SHA-256(key name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_raw).digest()[:4]


def _their_signature_line(line: str) -> tuple[str, bytes, bytes]:
    """'— <name> base64(key id || signature)': (name, key id, signature)."""
    assert line.startswith(EM_DASH + " ") and line.endswith("\n"), repr(line)
    name, encoded = line[2:-1].split(" ")
    raw = base64.b64decode(encoded, validate=True)
    return name, raw[:4], raw[4:]


def test_the_specs_example_note_is_opened_by_the_specs_example_key_by_hand_and_by_ours() -> None:
    name, hex_id, material = SPEC_VKEY.split("+")
    decoded = base64.b64decode(material)
    assert decoded[0] == 0x01 and len(decoded) == 33
    assert _their_key_id(name, 0x01, decoded[1:]).hex() == hex_id == "530d903a"
    text, signature_line = SPEC_NOTE.split("\n\n")
    signer, key_id, signature = _their_signature_line(signature_line)
    assert (signer, key_id.hex()) == (name, hex_id)
    Ed25519PublicKey.from_public_bytes(decoded[1:]).verify(signature, (text + "\n").encode())

    verifier = parse_vkey(SPEC_VKEY)
    assert verifier.vkey() == SPEC_VKEY
    note = parse_note(SPEC_NOTE)
    assert note.text == "This is an example message.\n" and signed_by(note, verifier)
    assert note.render() == SPEC_NOTE


def test_a_tampered_spec_note_fails_our_verifier() -> None:
    forged = parse_note(SPEC_NOTE.replace("example message", "exemplary message"))
    with pytest.raises(NoteError, match="forged"):
        signed_by(forged, parse_vkey(SPEC_VKEY))


def test_our_checkpoint_note_is_what_the_spec_describes() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    origin = new_origin("https://ledger.example.com:8443/")
    root = hashlib.sha256(b"a root").digest()
    body = CheckpointBody(origin, 1234, root)
    note = Note(body.text(), (sign_checkpoint_note(body, key),))
    rendered = note.render()

    # tlog-checkpoint.md: origin, decimal size, base64 root, each ending in a newline.
    text, signature_line = rendered.split("\n\n")
    lines = text.split("\n")
    assert lines == [origin, "1234", base64.b64encode(root).decode()]
    assert " " not in origin and "+" not in origin and origin.startswith("ledger.example.com:8443/")
    assert parse_checkpoint(text + "\n") == body

    # signed-note.md: '— <origin> base64(key id || 64-byte Ed25519 signature over the text)'.
    name, key_id, signature = _their_signature_line(signature_line)
    assert name == origin and len(signature) == 64
    assert key_id == _their_key_id(origin, 0x01, _raw(key))
    key.public_key().verify(signature, (text + "\n").encode())

    material = base64.b64encode(bytes([0x01]) + _raw(key)).decode()
    assert log_verifier(origin, key).vkey() == f"{origin}+{key_id.hex()}+{material}"


def test_a_witness_cosignature_is_the_timestamped_signature_tlog_cosignature_defines() -> None:
    log_key, witness_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    body = CheckpointBody("ledger.example.com/compliance-ledger/1a2b3c4d", 20852163, bytes(32))
    cosignature = cosign(body.text(), "witness.example.com/w1", witness_key, 1679315147)
    name, key_id, signed = _their_signature_line(cosignature.line())

    assert name == "witness.example.com/w1"
    assert key_id == _their_key_id(name, 0x04, _raw(witness_key))
    assert len(signed) == 8 + 64
    (timestamp,) = struct.unpack(">Q", signed[:8])
    assert timestamp == 1679315147
    message = f"cosignature/v1\ntime {timestamp}\n".encode() + body.text().encode()
    witness_key.public_key().verify(signed[8:], message)

    note = Note(body.text(), (sign_checkpoint_note(body, log_key), cosignature))
    witness = verifier_for(name, witness_key, COSIGNATURE_V1)
    assert cosignature_time(parse_note(note.render()), witness) == 1679315147
