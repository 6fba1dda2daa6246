"""A witness's own state and key, in one directory of its own.

The state is, per log origin, the latest checkpoint it cosigned: size, root hash and the note
as it serves it (the log's verified signature and its own cosignature). C2SP tlog-witness asks
for two things of it, both about rollback:

- it is persisted before the answer: one JSON file, replaced atomically (a temporary file in
  the same directory, flushed and fsynced, `os.replace`, the directory fsynced), so a crash
  leaves the old state or the new one, never a mix and never a cosignature it forgot;
- checking the old size and persisting the new state happen under one lock (the spec's race:
  a slow request for size N must not overwrite a faster one's N+K). The lock is a thread lock
  and an `flock` on a file in the directory, and the state is read from disk inside it, so two
  witness processes sharing a directory cannot roll each other back either.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

STATE_FILE = "witness-state.json"
LOCK_FILE = "witness-state.lock"
KEY_FILE = "witness-key.pem"

Result = TypeVar("Result")


@dataclass(frozen=True)
class Cosigned:
    """The latest checkpoint cosigned for one log."""

    size: int
    root_hash: bytes
    note: str  # the checkpoint note as served: the log's signature and the cosignature

    def as_json(self) -> dict[str, object]:
        return {"size": self.size, "root_hash": base64.b64encode(self.root_hash).decode(),
                "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Cosigned:
        return cls(int(data["size"]), base64.b64decode(str(data["root_hash"])), str(data["note"]))  # type: ignore[call-overload]


class WitnessState:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.directory / STATE_FILE

    def read(self) -> dict[str, Cosigned]:
        """Origin → its latest cosigned checkpoint, as stored now."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {origin: Cosigned.from_json(entry) for origin, entry in raw["logs"].items()}

    def latest(self, origin: str) -> Cosigned | None:
        return self.read().get(origin)

    def update(self, change: Callable[[dict[str, Cosigned]], Result]) -> Result:
        """Runs `change` on the stored state under the lock; whatever it leaves in the dict is
        persisted (when it changed) before this returns. `change` may raise to refuse."""
        with self._exclusive():
            logs = self.read()
            before = dict(logs)
            result = change(logs)
            if logs != before:
                self._write(logs)
            return result

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._lock, open(self.directory / LOCK_FILE, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, logs: dict[str, Cosigned]) -> None:
        data = json.dumps({"logs": {o: c.as_json() for o, c in logs.items()}}, indent=1).encode()
        temporary = self.directory / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a crash
        finally:
            os.close(directory)


def witness_key(directory: Path) -> Ed25519PrivateKey:
    """The witness's Ed25519 key, made on first use (0600; O_EXCL, so two processes starting
    at once never overwrite each other's fresh key)."""
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} must hold an Ed25519 private key in PEM")
    return key
