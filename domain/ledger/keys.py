"""Data keys: one per subject and per tenant, wrapped by a key-encryption key, destroyable for good.

The `KeyStore` protocol is what the mapper needs; `InMemoryKeyStore` serves unit tests; the
SQL store lives with the other tables in `projections.storage.key_store`.

Data keys are wrapped by the key-encryption key (KEK) of the current epoch. KEKs live outside
the database, behind `KeyEncryptionKeys` (a directory by default, `projections.storage.key_directory`;
a KMS can take its place). Destroying the KEKs that ever wrapped a shredded data key is what
makes an erasure final in every copy of the database (docs/erasure.md).
"""

from __future__ import annotations

import os
import threading
from typing import Protocol
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import SubjectErased


class KeyShredded(SubjectErased):
    """The owner's key was destroyed; it is never created again."""


class KeyStore(Protocol):
    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        """Make a key for a new owner; refuses an owner whose key was shredded."""

    def get(self, owner_id: UUID) -> bytes | None:
        """The owner's data key, or None when it was shredded (or never existed)."""

    def shred(self, owner_id: UUID) -> None:
        """Destroy the owner's key and keep a fence so it is never re-created."""

    def shred_tenant(self, tenant_id: UUID) -> int:
        """Destroy the tenant's key and those of all its subjects; returns how many."""


class KeyEncryptionKey:
    """Wraps data keys with AES-GCM; the owner's id is bound in as associated data so a
    wrapped key copied onto another owner's row does not unwrap."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a key-encryption key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(key)

    def wrap(self, owner_id: UUID, data_key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data_key, owner_id.bytes)

    def unwrap(self, owner_id: UUID, wrapped: bytes) -> bytes:
        return self._aead.decrypt(wrapped[:12], wrapped[12:], owner_id.bytes)


class KeyEncryptionKeys(Protocol):
    """Where the KEKs live, one per epoch, outside the database. A KMS plugs in here."""

    def create(self, epoch: int) -> None:
        """Make and keep the KEK of a new epoch (a second call for the same epoch keeps the
        first key)."""

    def get(self, epoch: int) -> KeyEncryptionKey | None:
        """The epoch's KEK, or None when it was destroyed (or was never here)."""

    def destroy(self, epoch: int) -> bool:
        """Destroy the epoch's KEK for good; False when this store cannot (it is held
        somewhere the ledger does not control, such as an environment variable)."""

    def held(self) -> list[int]:
        """The epochs whose KEK this store holds."""


class KeyEncryptionKeyMissing(RuntimeError):
    """A data key is wrapped by an epoch's KEK that this process cannot find."""

    def __init__(self, epoch: int, where: str) -> None:
        super().__init__(
            f"the key-encryption key of epoch {epoch} is not in {where}: every ledger process "
            "must see the same key directory (LEDGER_KEY_DIR), or the same KMS"
        )


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


class InMemoryKeyStore:
    """For unit tests of the domain: one KEK, nothing outlives the process."""

    def __init__(self, master: KeyEncryptionKey | None = None) -> None:
        self._master = master or KeyEncryptionKey(os.urandom(32))
        self._wrapped: dict[UUID, bytes | None] = {}
        self._tenant_of: dict[UUID, UUID | None] = {}
        self._lock = threading.Lock()

    def create(self, owner_id: UUID, tenant_id: UUID | None = None) -> None:
        with self._lock:
            if owner_id in self._wrapped:
                if self._wrapped[owner_id] is None:
                    raise KeyShredded()
                return
            self._wrapped[owner_id] = self._master.wrap(owner_id, new_data_key())
            self._tenant_of[owner_id] = tenant_id

    def get(self, owner_id: UUID) -> bytes | None:
        wrapped = self._wrapped.get(owner_id)
        return None if wrapped is None else self._master.unwrap(owner_id, wrapped)

    def shred(self, owner_id: UUID) -> None:
        with self._lock:
            self._wrapped[owner_id] = None

    def shred_tenant(self, tenant_id: UUID) -> int:
        with self._lock:
            owners = [o for o, t in self._tenant_of.items() if t == tenant_id] + [tenant_id]
            for owner in owners:
                self._wrapped[owner] = None
            return len(owners)
