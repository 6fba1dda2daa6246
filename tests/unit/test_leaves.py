"""Leaf bytes are exactly what DESIGN.md §5 and docs/verifying.md promise an outside auditor."""

from __future__ import annotations

import hashlib
from uuid import UUID

from eventsourcing.persistence import Notification

from projections.leaves import leaf_bytes, notification_leaf_bytes, notification_leaf_hash

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
