"""Leaf bytes are exactly what DESIGN.md §5 and docs/verifying.md promise an outside auditor."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.merkle_log.leaves import (
    fields_leaf_hash,
    leaf_bytes,
    leaf_bytes_from_digest,
    leaf_hashes,
    notification_leaf_bytes,
    notification_leaf_hash,
    uuid_hex_leaf_hashes,
    uuid_text,
)
from projections.merkle_log.rfc9162 import leaf_hash

ORIGINATOR = UUID("8c0d6b8e-3f0a-4c39-9d4e-2b7f1a6c5e10")
STATE = b'{"actor":"officer-1","name":{"_pd_":"c2VjcmV0","k":"8c0d6b8e"}}'


def _notification(**changes: object) -> Notification:
    fields: dict[str, object] = dict(
        id=7, originator_id=ORIGINATOR, originator_version=2,
        topic="domain.subject:Subject.Rectified", state=STATE,
    )
    fields.update(changes)
    return Notification(**fields)  # type: ignore[arg-type]


def test_leaf_bytes_are_sorted_compact_json_committing_to_the_sha256_of_the_stored_state() -> None:
    expected = (
        '{"id":7,"originator_id":"8c0d6b8e-3f0a-4c39-9d4e-2b7f1a6c5e10","originator_version":2,'
        f'"state_sha256":"{hashlib.sha256(STATE).hexdigest()}",'
        '"topic":"domain.subject:Subject.Rectified"}'
    ).encode()

    assert notification_leaf_bytes(_notification()) == expected


def test_the_leaf_hash_is_sha256_of_a_zero_byte_and_the_leaf_bytes() -> None:
    leaf = notification_leaf_bytes(_notification())

    assert notification_leaf_hash(_notification()) == hashlib.sha256(b"\x00" + leaf).digest()


def test_a_string_originator_id_gives_the_same_leaf_as_the_uuid() -> None:
    as_text = leaf_bytes(7, str(ORIGINATOR), 2, "domain.subject:Subject.Rectified", STATE)

    assert as_text == notification_leaf_bytes(_notification())


def test_every_committed_field_changes_the_leaf_hash() -> None:
    original = notification_leaf_hash(_notification())
    variants = [
        _notification(id=8),
        _notification(originator_id=UUID(int=1)),
        _notification(originator_version=3),
        _notification(topic="domain.subject:Subject.Erased"),
        _notification(state=STATE.replace(b"officer-1", b"officer-2")),
    ]

    hashes = {notification_leaf_hash(n) for n in variants}

    assert original not in hashes
    assert len(hashes) == len(variants)


def test_a_leaf_never_contains_the_state_itself_only_its_digest() -> None:
    leaf = notification_leaf_bytes(_notification())

    assert b"_pd_" not in leaf and b"officer-1" not in leaf


# --- the fast leaf builder against the definition ------------------------------------------------
#
# leaves.py writes the leaf JSON with one f-string; the leaf bytes are fixed by DESIGN.md §5 as
# what json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False) wrote, and every
# sealed leaf depends on them staying byte for byte the same. The oracle below is that original
# code, copied here so that no later change to leaves.py can change it too.


def _json_dumps_leaf(
    notification_id: Any, originator_id: Any, originator_version: Any, topic: Any, state_sha256: Any
) -> bytes:
    document = {
        "id": int(notification_id),
        "originator_id": str(originator_id),
        "originator_version": int(originator_version),
        "state_sha256": state_sha256,
        "topic": topic,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _outcome(build: Callable[..., bytes], *args: Any) -> tuple[str, Any]:
    """The bytes, or the kind of error (a lone surrogate cannot be UTF-8, for one)."""
    try:
        return "bytes", build(*args)
    except Exception as error:  # noqa: BLE001 - whatever it is, both must agree
        return "error", type(error)


def _expected_hash(notification_id: Any, originator_id: Any, version: Any, topic: Any, state: Any) -> tuple[str, Any]:
    def build(*args: Any) -> bytes:
        digest = hashlib.sha256(bytes(state)).hexdigest()
        return hashlib.sha256(b"\x00" + _json_dumps_leaf(*args, digest)).digest()

    return _outcome(build, notification_id, originator_id, version, topic)


# Every character, surrogates included, and the ones JSON treats specially.
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
_TRICKY_TEXT = st.text(
    st.sampled_from(['"', "\\", "/", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", "\ud800", "é", "😀", "a"]),
    max_size=12,
)
_TEXT = _ANY_TEXT | _TRICKY_TEXT
_INTISH = st.integers() | st.booleans() | st.sampled_from(["7", " 8 ", "x", 1.5, None])
_ORIGINATOR = st.uuids() | _TEXT | st.sampled_from([None, 7])
_TOPIC = _TEXT | st.sampled_from([None, 7, b"bytes", ["list"]])
_DIGEST = st.text("0123456789abcdef", min_size=64, max_size=64) | _TEXT | st.sampled_from([None, b"ab"])
_STATE = st.binary(max_size=64) | st.sampled_from([bytearray(b"ab"), memoryview(b"cd"), "text", None])


@settings(max_examples=1500, deadline=None)
@given(_INTISH, _ORIGINATOR, _INTISH, _TOPIC, _DIGEST)
def test_the_leaf_bytes_equal_the_json_dumps_definition_for_any_input(
    notification_id: Any, originator_id: Any, version: Any, topic: Any, digest: Any
) -> None:
    args = (notification_id, originator_id, version, topic, digest)

    assert _outcome(leaf_bytes_from_digest, *args) == _outcome(_json_dumps_leaf, *args)


@settings(max_examples=1500, deadline=None)
@given(_INTISH, _ORIGINATOR, _INTISH, _TOPIC, _STATE)
def test_the_one_step_leaf_hash_equals_the_hash_of_the_defined_leaf_bytes_for_any_input(
    notification_id: Any, originator_id: Any, version: Any, topic: Any, state: Any
) -> None:
    args = (notification_id, originator_id, version, topic, state)

    assert _outcome(fields_leaf_hash, *args) == _expected_hash(*args)
    assert _outcome(lambda *a: leaf_hash(leaf_bytes(*a)), *args) == _expected_hash(*args)


def test_every_unicode_character_in_a_topic_is_written_as_json_dumps_writes_it() -> None:
    """Exhaustive over the code points: a topic of each run of 256 characters (outside the
    surrogates, which cannot be UTF-8 at all), and each surrogate alone."""
    args = (7, ORIGINATOR, 2)
    digest = hashlib.sha256(STATE).hexdigest()
    for start in range(0, 0x110000, 256):
        if 0xD800 <= start < 0xE000:
            continue
        topic = "".join(map(chr, range(start, start + 256)))
        assert leaf_bytes_from_digest(*args, topic, digest) == _json_dumps_leaf(*args, topic, digest)
    for code in range(0xD800, 0xE000):
        assert _outcome(leaf_bytes_from_digest, *args, chr(code), digest) == (
            "error", UnicodeEncodeError
        )


def test_str_subclasses_and_int_subclasses_are_written_as_json_dumps_writes_them() -> None:
    class Topic(str):
        def __str__(self) -> str:
            return "not this"

        def __format__(self, spec: str) -> str:
            return "nor this"

    class Number(int):
        def __repr__(self) -> str:
            return "not this"

    for args in [
        (Number(7), ORIGINATOR, Number(2), Topic('a"b'), Topic("ab")),
        (True, str(ORIGINATOR), False, "t", hashlib.sha256(STATE).hexdigest()),
    ]:
        assert _outcome(leaf_bytes_from_digest, *args) == _outcome(_json_dumps_leaf, *args)


_ROW = st.tuples(_INTISH, _ORIGINATOR, _INTISH, _TOPIC, _STATE)
_USUAL_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30) | _TRICKY_TEXT.filter(
    lambda t: "\ud800" not in t
)
_USUAL_ROW = st.tuples(st.integers(), st.uuids() | _USUAL_TEXT, st.integers(), _USUAL_TEXT, st.binary(max_size=64))


@settings(max_examples=500, deadline=None)
@given(st.lists(_ROW, max_size=6))
def test_a_chunk_hash_is_the_one_by_one_hash_or_left_to_it(rows: list[tuple[Any, ...]]) -> None:
    hashes = leaf_hashes(rows)

    assert len(hashes) == len(rows)
    for row, recomputed in zip(rows, hashes):
        if recomputed is not None:
            assert ("bytes", recomputed) == _expected_hash(*row)


@settings(max_examples=500, deadline=None)
@given(st.lists(_USUAL_ROW, max_size=6))
def test_a_chunk_of_the_usual_types_is_hashed_whole(rows: list[tuple[Any, ...]]) -> None:
    assert leaf_hashes(rows) == [_expected_hash(*row)[1] for row in rows]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(), st.uuids(), st.integers(), _USUAL_TEXT, st.binary(max_size=64)), max_size=6))
def test_rows_with_the_uuid_as_sqlite_keeps_it_hash_as_with_the_uuid(rows: list[tuple[Any, ...]]) -> None:
    as_hex = [(i, u.hex, v, t, s) for i, u, v, t, s in rows]

    assert uuid_hex_leaf_hashes(as_hex) == [_expected_hash(*row)[1] for row in rows]
    assert [uuid_text(u.hex) for _, u, _, _, _ in rows] == [str(u) for _, u, _, _, _ in rows]


def test_a_chunk_with_an_unusual_value_is_left_to_the_one_by_one_hash() -> None:
    usual = (7, ORIGINATOR.hex, 2, "t", STATE)
    for odd in [(7, ORIGINATOR.hex, 2, None, STATE), (7, ORIGINATOR.hex, 2, "t", "text"),
                ("x", ORIGINATOR.hex, 2, "t", STATE), (7, ORIGINATOR.hex, 2, "\ud800", STATE)]:
        assert leaf_hashes([usual, odd]) == [None, None]
        assert uuid_hex_leaf_hashes([usual, odd]) == [None, None]
