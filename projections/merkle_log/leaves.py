"""What one stored event contributes to the Merkle log: its leaf bytes and leaf hash (DESIGN.md §5).

The leaf commits to the event's place in the global order (its notification id), its identity
(originator id and version), its topic and the SHA-256 of the *stored* state bytes - the
ciphertext of any personal field, not the plaintext - so destroying a subject's key never
changes a leaf, and no leaf reveals personal data.

Leaf bytes are the UTF-8 JSON object with keys sorted and no spaces:

    {"id":7,"originator_id":"8c0d...","originator_version":2,"state_sha256":"ab12...","topic":"domain.subject:Subject.Rectified"}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Protocol
from uuid import UUID

from projections.merkle_log.rfc9162 import LEAF_PREFIX, leaf_hash

_sha256 = hashlib.sha256
# What json.dumps(..., ensure_ascii=False) itself writes a str with (the C encoder when built):
# quotes, and escapes for '"', '\\' and control characters; everything else as it is.
_json_string = json.encoder.encode_basestring


class StoredNotification(Protocol):
    """The fields of eventsourcing's `Notification` that a leaf commits to."""

    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes


def leaf_bytes(
    notification_id: int, originator_id: UUID | str, originator_version: int, topic: str,
    state: bytes,
) -> bytes:
    return leaf_bytes_from_digest(
        notification_id, originator_id, originator_version, topic, state_digest(state)
    )


def state_digest(state: bytes) -> str:
    return _sha256(bytes(state)).hexdigest()


def leaf_bytes_from_digest(
    notification_id: int, originator_id: UUID | str, originator_version: int, topic: str,
    state_sha256: str,
) -> bytes:
    if type(topic) is not str or type(state_sha256) is not str:
        # Not text: only json.dumps knows what to make of it (null, an error...).
        return _leaf_bytes_by_json_dumps(
            notification_id, originator_id, originator_version, topic, state_sha256
        )
    # str(UUID) is the canonical lowercase, hyphenated form on every store.
    return _leaf_text(
        int(notification_id), _json_string(str(originator_id)), int(originator_version),
        _json_string(state_sha256), _json_string(topic),
    ).encode()


def _leaf_text(
    notification_id: int, originator_id: str, originator_version: int, state_sha256: str,
    topic: str,
) -> str:
    """The leaf JSON from its values, the strings already JSON-encoded. One f-string instead of
    json.dumps (which spent more time sorting and dispatching than hashing took): the shape is
    fixed, so the keys are written in their sorted order, and an int is written as its repr,
    as json.dumps writes it."""
    return (
        f'{{"id":{notification_id},"originator_id":{originator_id},'
        f'"originator_version":{originator_version},"state_sha256":{state_sha256},'
        f'"topic":{topic}}}'
    )


def _leaf_bytes_by_json_dumps(
    notification_id: int, originator_id: UUID | str, originator_version: int, topic: Any,
    state_sha256: Any,
) -> bytes:
    """The definition of the leaf bytes (DESIGN.md §5); the fast path must equal it for every
    input (tests/unit/test_leaves.py compares them)."""
    document = {
        "id": int(notification_id),
        "originator_id": str(originator_id),
        "originator_version": int(originator_version),
        "state_sha256": state_sha256,
        "topic": topic,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def notification_leaf_bytes(notification: StoredNotification) -> bytes:
    return leaf_bytes(
        notification.id, notification.originator_id, notification.originator_version,
        notification.topic, notification.state,
    )


def notification_leaf_hash(notification: StoredNotification) -> bytes:
    """SHA-256(0x00 ‖ leaf bytes): the value the sealer stores and the tree is built from."""
    return fields_leaf_hash(
        notification.id, notification.originator_id, notification.originator_version,
        notification.topic, notification.state,
    )


def fields_leaf_hash(
    notification_id: int, originator_id: UUID | str, originator_version: int, topic: str,
    state: bytes,
) -> bytes:
    """leaf_hash(leaf_bytes(...)) in one step for the usual types: the sealer and `ledger verify`
    run it for every event, where each extra call layer showed in the profile."""
    if type(topic) is not str or type(state) is not bytes:
        return leaf_hash(leaf_bytes(notification_id, originator_id, originator_version, topic, state))
    # leaf_hash inlined; a hex digest needs no JSON escaping, only quotes.
    return _sha256(LEAF_PREFIX + _leaf_text(
        int(notification_id), _json_string(str(originator_id)), int(originator_version),
        f'"{_sha256(state).hexdigest()}"', _json_string(topic),
    ).encode()).digest()


# The two functions below hash a whole chunk of rows in one comprehension: `ledger verify`
# hashes every event, and a call per row (and a new row per event only to hyphenate its id)
# was a fifth of its time. So each writes the leaf's f-string itself, after the leaf hash's
# 0x00 (merkle.LEAF_PREFIX), rather than calling `_leaf_text` and `leaf_hash`;
# tests/unit/test_leaves.py holds all three to the json.dumps definition.


def leaf_hashes(rows: Sequence[Sequence[Any]]) -> list[bytes | None]:
    """fields_leaf_hash of each (id, originator id, version, topic, state) row of a chunk.

    A row is hashed here only when every topic of the chunk is a str and every state bytes
    (checked a column at a time); otherwise, or should any value fail to convert, the chunk's
    hashes are None, to be taken one by one with fields_leaf_hash - which then raises, if it
    must, only for a row the caller really hashes."""
    if not _usual_types(rows):
        return [None] * len(rows)
    try:
        return [
            _sha256(
                f'\x00{{"id":{int(notification_id)},"originator_id":{_json_string(str(originator_id))},'
                f'"originator_version":{int(version)},"state_sha256":"{_sha256(state).hexdigest()}",'
                f'"topic":{_json_string(topic)}}}'.encode()
            ).digest()
            for notification_id, originator_id, version, topic, state in rows
        ]
    except Exception:  # noqa: BLE001 - whatever it was, fields_leaf_hash meets it again
        return [None] * len(rows)


def uuid_hex_leaf_hashes(rows: Sequence[Sequence[Any]]) -> list[bytes | None]:
    """`leaf_hashes` for rows whose originator id is a UUID's 32 lowercase hex digits (how SQLite
    keeps one; the caller has checked it), written into the leaf as `uuid_text` writes it. A
    None is to be taken one by one with fields_leaf_hash(id, uuid_text(originator id), ...)."""
    if not _usual_types(rows):
        return [None] * len(rows)
    try:
        return [
            _sha256(
                f'\x00{{"id":{int(notification_id)},"originator_id":"{o[:8]}-{o[8:12]}-{o[12:16]}-'
                f'{o[16:20]}-{o[20:]}","originator_version":{int(version)},'
                f'"state_sha256":"{_sha256(state).hexdigest()}","topic":{_json_string(topic)}}}'.encode()
            ).digest()
            for notification_id, o, version, topic, state in rows
        ]
    except Exception:  # noqa: BLE001 - as in leaf_hashes
        return [None] * len(rows)


def uuid_text(uuid_hex: str) -> str:
    """str(UUID(uuid_hex)) for 32 lowercase hex digits, without building the UUID."""
    h = uuid_hex
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _usual_types(rows: Sequence[Sequence[Any]]) -> bool:
    """Is every topic a str and every state bytes? Checked a column at a time, in C."""
    return set(map(type, map(_TOPIC, rows))) <= _STR and set(map(type, map(_STATE, rows))) <= _BYTES


_TOPIC, _STATE = itemgetter(3), itemgetter(4)
_STR, _BYTES = frozenset({str}), frozenset({bytes})
