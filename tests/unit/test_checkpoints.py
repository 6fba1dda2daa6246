"""Checkpoints are signed over the documented text and check out with the published key."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.merkle_log.checkpoints import (
    Checkpoint,
    checkpoint_text,
    load_public_key,
    public_key_pem,
    public_key_raw_base64,
    sign_checkpoint,
    signature_holds,
)

ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")
MOMENT = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=timezone.utc)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_the_signed_text_is_four_lines_header_size_root_hex_and_utc_time() -> None:
    assert checkpoint_text(8, ROOT, "2026-03-01T12:30:05.123456Z") == (
        b"compliance-ledger checkpoint v1\n8\n"
        b"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328\n"
        b"2026-03-01T12:30:05.123456Z\n"
    )


def test_a_checkpoint_signed_in_another_time_zone_is_stamped_in_utc(key: Ed25519PrivateKey) -> None:
    amsterdam = timezone(timedelta(hours=1))

    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT.astimezone(amsterdam))

    assert checkpoint.timestamp == "2026-03-01T12:30:05.123456Z"


def test_a_signature_checks_out_with_the_published_key_in_either_form(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT)

    assert signature_holds(load_public_key(public_key_pem(key)), checkpoint)
    assert signature_holds(load_public_key(public_key_raw_base64(key)), checkpoint)
    # An outside verifier needs nothing but the text and the raw key.
    raw = base64.b64decode(public_key_raw_base64(key))
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(raw).verify(checkpoint.signature, checkpoint.text())


@pytest.mark.parametrize(
    "change",
    [
        {"tree_size": 9},
        {"root_hash": bytes(32)},
        {"timestamp": "2026-03-01T12:30:06.123456Z"},
    ],
    ids=["size", "root", "time"],
)
def test_changing_any_signed_field_breaks_the_signature(key: Ed25519PrivateKey, change: dict) -> None:
    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT)
    fields = {**checkpoint.__dict__, **change}

    assert not signature_holds(key.public_key(), Checkpoint(**fields))


def test_another_key_does_not_verify_the_signature(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT)

    assert not signature_holds(Ed25519PrivateKey.generate().public_key(), checkpoint)


def test_a_truncated_signature_is_refused_without_an_error(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT)
    cut = Checkpoint(checkpoint.tree_size, checkpoint.root_hash, checkpoint.timestamp, checkpoint.signature[:10])

    assert not signature_holds(key.public_key(), cut)


def test_the_api_form_gives_hex_root_and_base64_signature(key: Ed25519PrivateKey) -> None:
    checkpoint = sign_checkpoint(key, 8, ROOT, MOMENT)

    shown = checkpoint.as_json()

    assert shown["root_hash"] == ROOT.hex()
    assert base64.b64decode(str(shown["signature"])) == checkpoint.signature


@pytest.mark.parametrize("text", ["not a key", base64.b64encode(b"short").decode()])
def test_a_public_key_that_is_neither_pem_nor_32_raw_bytes_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        load_public_key(text)


def test_a_naive_time_cannot_be_signed(key: Ed25519PrivateKey) -> None:
    with pytest.raises(ValueError):
        sign_checkpoint(key, 8, ROOT, MOMENT.replace(tzinfo=None))
