"""Verifier keys (C2SP signed-note vkeys) are read as Go's note package reads them."""

from __future__ import annotations

import pytest

from projections.merkle_log.signed_notes import COSIGNATURE_V1, NoteError, parse_vkey


def test_a_verifier_key_whose_base64_holds_a_plus_sign_is_read() -> None:
    # Split at the first two '+' only, as note.NewVerifier does; splitting at every '+'
    # refused about half of all keys.
    vkey = "witness.customer.example/w1+b281f810+BJ3TLX6hLEShf5PvVr8AKcs+UzPpb75vJQlJh3SeoXRu"
    verifier = parse_vkey(vkey)
    assert (verifier.name, verifier.key_type) == ("witness.customer.example/w1", COSIGNATURE_V1)
    assert verifier.vkey() == vkey


@pytest.mark.parametrize("vkey", [
    "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # another key id
    "example.com/foo+530d903a",
    "example.com/foo+530d903a+not base64",
    "example com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
])
def test_a_verifier_key_that_does_not_add_up_is_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        parse_vkey(vkey)
