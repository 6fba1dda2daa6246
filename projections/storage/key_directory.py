"""Key-encryption keys in a directory: one file per epoch, outside the database.

`LEDGER_KEY_DIR` (default `./var/keys`, mode 0700) holds `epoch-<n>.kek` files (mode 0600,
the base64 of 32 random bytes). A file is written atomically (a private temporary file,
synced, then linked into place, so a reader never sees half a key and two processes never
both make one) and destroyed by overwriting it with random bytes, syncing and removing it.
Put the directory on a volume that is not backed up with the database: a backup that
carries its own keys is a backup no erasure can reach (docs/erasure.md).

Epoch 0 is the master key of a store made before epochs (`LEDGER_MASTER_KEY` or the data
dir's `master.key`): it is read where it always was, and destroying it removes that file.
A key in the environment cannot be destroyed from here; `ledger keys status` says so.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import threading
import time
from pathlib import Path

from domain.key_epochs import LEGACY_EPOCH
from domain.ledger.keys import KeyEncryptionKey
from projections.storage import synced_files
_SUFFIX = ".kek"
# KEKs are read again after this long, so a KEK destroyed by another process does not stay
# usable here for longer (the data-key cache has the same bound, projections.storage.key_store).
CACHE_SECONDS = 5.0


class KeyDirectory:
    def __init__(
        self, path: Path, legacy_key: bytes | None = None, legacy_file: Path | None = None
    ) -> None:
        self.path = path
        self.legacy_key = legacy_key
        self.legacy_file = legacy_file  # None when the legacy key came from the environment
        self._cache: dict[int, tuple[float, KeyEncryptionKey]] = {}
        self._lock = threading.Lock()
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)

    def __str__(self) -> str:
        return f"the key directory {self.path.resolve()}"

    def file_of(self, epoch: int) -> Path:
        return self.path / f"epoch-{epoch:08d}{_SUFFIX}"

    def create(self, epoch: int) -> None:
        if epoch == LEGACY_EPOCH:
            raise ValueError("epoch 0 is the master key of before epochs; it is never made")
        target = self.file_of(epoch)
        if target.exists():
            return
        temporary = self.path / f".epoch-{epoch:08d}.{secrets.token_hex(8)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)) + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, target)  # fails if another process made it first
            except FileExistsError:
                pass
        finally:
            temporary.unlink(missing_ok=True)
        synced_files.sync(self.path)

    def get(self, epoch: int) -> KeyEncryptionKey | None:
        hit = self._cache.get(epoch)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        raw = self._read(epoch)
        if raw is None:
            with self._lock:
                self._cache.pop(epoch, None)
            return None
        key = KeyEncryptionKey(raw)
        with self._lock:
            self._cache[epoch] = (time.monotonic() + CACHE_SECONDS, key)
        return key

    def _read(self, epoch: int) -> bytes | None:
        if epoch == LEGACY_EPOCH:
            if self.legacy_file is not None and not self.legacy_file.exists():
                return None
            return self.legacy_key
        try:
            text = self.file_of(epoch).read_bytes()
        except FileNotFoundError:
            return None
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"{self.file_of(epoch)} does not hold the base64 of 32 bytes")
        return raw

    def destroy(self, epoch: int) -> bool:
        with self._lock:
            self._cache.pop(epoch, None)
        if epoch == LEGACY_EPOCH:
            if self.legacy_key is not None and self.legacy_file is None:
                return False  # LEDGER_MASTER_KEY: only whoever set it can take it away
            self.legacy_key = None
            if self.legacy_file is not None:
                _overwrite_and_remove(self.legacy_file)
            return True
        _overwrite_and_remove(self.file_of(epoch))
        return True

    def held(self) -> list[int]:
        epochs = []
        for file in self.path.glob(f"epoch-*{_SUFFIX}"):
            try:
                epochs.append(int(file.name[len("epoch-"):-len(_SUFFIX)]))
            except ValueError:
                continue
        if self._read(LEGACY_EPOCH) is not None:
            epochs.append(LEGACY_EPOCH)
        return sorted(epochs)


def _overwrite_and_remove(file: Path) -> None:
    """Random bytes over the key, synced, before the name goes: on most file systems the
    blocks are rewritten in place, so the old key is not left in free space."""
    try:
        fd = os.open(file, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        size = os.fstat(fd).st_size
        os.write(fd, secrets.token_bytes(max(size, 64)))
        os.fsync(fd)
    finally:
        os.close(fd)
    file.unlink(missing_ok=True)
    synced_files.sync(file.parent)
