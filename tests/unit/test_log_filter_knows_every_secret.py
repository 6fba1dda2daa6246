"""The log filter knows every secret of the configuration, in every spelling a log line could
hold it: the key-encryption keys of the key directory (as stored, and in hex), the master key
of a store made before key epochs (base64, URL-safe base64, hex), the token secret, and each
line of the signing key's PEM, from its file or from the environment. A process started before
any key exists (a worker on a fresh machine) still starts. Found by `make mutate`: forgetting
any of them (or taking the PEM's frame lines for secrets) passed every test."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from api import keyfiles
from api.logging_setup import REDACTED, install_redaction, known_secrets, redact
from api.settings import Settings
from projections.storage.key_directory import KeyDirectory
from tests.conftest import make_settings


def _redacted(secret: str) -> bool:
    return redact(f"value {secret} end") == f"value {REDACTED} end"


def _body_lines(pem: str) -> list[str]:
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings("memory://", tmp_path / "var", **overrides)


def test_every_spelling_of_every_key_in_the_data_dir_is_taken_out_of_the_log(
    tmp_path: Path
) -> None:
    settings = _settings(tmp_path)
    keyfiles.ensure_all(settings)  # the token secret and the signing key, as files
    keks = KeyDirectory(keyfiles.key_dir(settings))
    keks.create(1)
    keks.create(2)
    master = bytes([0xFB, 0xFF]) + os.urandom(30)  # base64 starts "+/": URL-safe differs
    (settings.data_dir / keyfiles.MASTER_KEY_FILE).write_text(base64.b64encode(master).decode())

    install_redaction(known_secrets(settings))

    spellings = [
        base64.b64encode(master).decode(), base64.urlsafe_b64encode(master).decode(),
        master.hex(), keyfiles.auth_secret(settings),
    ]
    for epoch in (1, 2):
        stored = keks.file_of(epoch).read_text().strip()
        spellings += [stored, base64.b64decode(stored).hex()]
    pem = (settings.data_dir / keyfiles.SIGNING_KEY_FILE).read_text()
    spellings += _body_lines(pem)
    assert len(spellings) == 9  # an Ed25519 PEM has one line of base64
    assert [s for s in spellings if not _redacted(s)] == []
    # The PEM's frame is no secret: a line naming it stays readable.
    frame = "LEDGER_SIGNING_KEY must start with -----BEGIN PRIVATE KEY-----"
    assert redact(frame) == frame


def test_a_signing_key_given_in_the_environment_is_taken_out_line_by_line(
    tmp_path: Path
) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings = _settings(tmp_path, signing_key=SecretStr(pem))

    install_redaction(known_secrets(settings))

    lines = _body_lines(pem)
    assert lines and all(_redacted(line) for line in lines)


def test_a_process_started_before_any_key_exists_knows_the_token_secret_and_starts(
    tmp_path: Path
) -> None:
    settings = _settings(tmp_path)  # no signing key, no key directory, no master key yet

    secrets = known_secrets(settings)
    install_redaction(secrets)

    assert _redacted(keyfiles.auth_secret(settings))
    assert not (settings.data_dir / keyfiles.SIGNING_KEY_FILE).exists()


def test_the_portals_client_secret_at_the_identity_provider_is_taken_out_of_the_log(
    tmp_path: Path
) -> None:
    client_secret = "portal-client-secret-" + os.urandom(12).hex()
    settings = _settings(
        tmp_path, oidc_issuer=["https://id.example.com/realms/ledger"],
        oidc_audience="compliance-ledger-api", oidc_portal_client_id="ledger-portal",
        oidc_portal_client_secret=SecretStr(client_secret),
    )

    install_redaction(known_secrets(settings))

    assert _redacted(client_secret)
