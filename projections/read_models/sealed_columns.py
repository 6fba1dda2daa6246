"""Personal fields in read-model tables: sealed with the owner's data key, found by keyed hash.

A read model holds the same personal fields as the events, so it gets the same protection:
each value is sealed (AES-GCM) with its owner's data key, with the table, the row's key and the
column as associated data, so a sealed value copied to another row or column does not open.
When the owner's key has been shredded a value opens as "[erased]".

Email lookup needs equality without plaintext: a keyed hash (HMAC-SHA256) of the normalised
address, under a key derived from the master key, so the hashes cannot be recomputed by anyone
holding only the database.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain.ledger.keys import KeyStore
from domain.personal import ERASED
from domain.ledger.shredding import open_sealed, seal

UNREADABLE = "[unreadable]"
_LOOKUP_INFO = b"compliance-ledger/email-lookup/v1"


def email_lookup_key(master_key: bytes) -> bytes:
    """A key for the email hashes, derived from (never equal to) the master key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_INFO).derive(
        master_key
    )


def email_hash(lookup_key: bytes, email: str) -> str:
    normalised = email.strip().lower()
    return hmac.new(lookup_key, normalised.encode(), hashlib.sha256).hexdigest()


def _aad(table: str, row_key: tuple[Any, ...], column: str) -> bytes:
    return f"{table}|{'|'.join(str(part) for part in row_key)}|{column}".encode()


class ColumnSealer:
    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def has_key(self, owner_id: UUID | str) -> bool:
        return self.keys.get(_uuid(owner_id)) is not None

    def seal(
        self, owner_id: UUID | str | None, table: str, row_key: tuple[Any, ...], column: str,
        value: Any,
    ) -> str | None:
        """None when there is nothing to keep: no value, an erased value, or no key left."""
        if value is None or value == ERASED or owner_id is None:
            return None
        key = self.keys.get(_uuid(owner_id))
        if key is None:
            return None
        return seal(key, value, _aad(table, row_key, column))

    def open(
        self, owner_id: UUID | str | None, table: str, row_key: tuple[Any, ...], column: str,
        sealed: str | None,
    ) -> Any:
        if owner_id is None:
            return None if sealed is None else UNREADABLE
        key = self.keys.get(_uuid(owner_id))
        if key is None:
            return ERASED
        if sealed is None:
            return None
        try:
            return open_sealed(key, sealed, _aad(table, row_key, column))
        except (InvalidTag, ValueError):
            # Tampered with, or moved from another row: say so rather than fail the read.
            return UNREADABLE


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
