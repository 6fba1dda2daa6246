"""Keys generated on first start into the data dir, readable by the owner only (mode 0600)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.settings import Settings

MASTER_KEY_FILE = "master.key"
AUTH_SECRET_FILE = "auth.secret"
SIGNING_KEY_FILE = "signing.pem"


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once never overwrite each other's fresh key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read_or_create(path: Path, make: "callable[[], bytes]") -> bytes:
    if not path.exists():
        try:
            _write_private(path, make())
        except FileExistsError:
            pass
    return path.read_bytes()


def key_dir(settings: Settings) -> Path:
    return settings.key_dir if settings.key_dir is not None else settings.data_dir / "keys"


def legacy_master_key(settings: Settings) -> tuple[bytes | None, Path | None]:
    """The master key of a store made before key epochs, and the file it is in (None when it
    comes from LEDGER_MASTER_KEY). Never made: a new store has no master key, only epochs."""
    path: Path | None = settings.data_dir / MASTER_KEY_FILE
    if settings.master_key is not None:
        raw, path = settings.master_key.get_secret_value(), None
    elif path is not None and path.exists():
        raw = path.read_text()
    else:
        return None, None
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ValueError("LEDGER_MASTER_KEY (or master.key) must be the base64 of exactly 32 bytes")
    return key, path


class NoAuthSecret(Exception):
    """Neither `LEDGER_AUTH_SECRET` nor an `auth.secret` file in the data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        super().__init__(
            f"there is no token secret: LEDGER_AUTH_SECRET is not set and there is no "
            f"{AUTH_SECRET_FILE} in the data dir {self.data_dir}. Run `ledger init` (or "
            "`make run`) first, with the same LEDGER_DATA_DIR as the server, so that tokens "
            "are signed with the secret the server checks."
        )


def existing_auth_secret(settings: Settings) -> str:
    """The configured or stored secret; never creates one. A token signed with a secret made
    here would be refused by every server that has (or will make) its own."""
    if settings.auth_secret is None and not (settings.data_dir / AUTH_SECRET_FILE).exists():
        raise NoAuthSecret(settings.data_dir)
    return auth_secret(settings)


def auth_secret(settings: Settings) -> str:
    if settings.auth_secret is not None:
        return settings.auth_secret.get_secret_value()
    return _read_or_create(
        settings.data_dir / AUTH_SECRET_FILE, lambda: secrets.token_urlsafe(48).encode()
    ).decode().strip()


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.signing_key is not None:
        pem = settings.signing_key.get_secret_value().encode()
    else:
        pem = _read_or_create(
            settings.data_dir / SIGNING_KEY_FILE,
            lambda: Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("LEDGER_SIGNING_KEY must be an Ed25519 private key in PEM")
    return key


def ensure_all(settings: Settings) -> None:
    """The token secret and the signing key; the key-encryption keys are made by the key
    directory when the store is opened (projections.storage.key_directory)."""
    auth_secret(settings)
    signing_key(settings)


def missing_for_reads(settings: Settings) -> list[str]:
    """What a read-only process would need but cannot make: it generates no key, since one made
    here would differ from the writing processes' (tokens refused, data unreadable)."""
    missing: list[str] = []
    own_tokens = not (settings.uses_identity_provider or settings.auth_public_key)
    if own_tokens and settings.auth_secret is None and not (
        settings.data_dir / AUTH_SECRET_FILE
    ).exists():
        missing.append(f"the token secret (LEDGER_AUTH_SECRET or {settings.data_dir / AUTH_SECRET_FILE})")
    if settings.signing_key is None and not (settings.data_dir / SIGNING_KEY_FILE).exists():
        missing.append(f"the log's key (LEDGER_SIGNING_KEY or {settings.data_dir / SIGNING_KEY_FILE})")
    if not key_dir(settings).is_dir():
        missing.append(f"the key directory ({key_dir(settings)})")
    return missing
