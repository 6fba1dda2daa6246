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
from typing import Any, Protocol
from uuid import UUID

from projections.merkle import leaf_hash


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
    return hashlib.sha256(bytes(state)).hexdigest()


def leaf_bytes_from_digest(
    notification_id: int, originator_id: UUID | str, originator_version: int, topic: str,
    state_sha256: str,
) -> bytes:
    document = {
        "id": int(notification_id),
        # str(UUID) is the canonical lowercase, hyphenated form on every store.
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
    return leaf_hash(notification_leaf_bytes(notification))
