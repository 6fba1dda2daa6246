"""`ledger init` leaves the data dir private, and `ledger token` never invents a secret.

Run as the real command (a subprocess), with a umask that would leave files readable by
everyone, and with no LEDGER_* settings but the data dir and the store.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def ledger(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    clean.update(
        LEDGER_DATA_DIR=str(tmp_path / "var"),
        LEDGER_DATABASE_URL=f"sqlite:///{tmp_path}/var/ledger.sqlite",
        PYTHONPATH=str(REPO_ROOT), COLUMNS="200", **env,
    )
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args], cwd=tmp_path, env=clean,
        capture_output=True, text=True, timeout=120, umask=0o022,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_leaves_the_data_dir_0700_and_every_file_in_it_0600(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "notes.txt").write_text("left here by hand")
    (data / "notes.txt").chmod(0o644)

    done = ledger(tmp_path, "init")

    assert done.returncode == 0, done.stdout + done.stderr
    assert mode(data) == 0o700
    files = sorted(p.name for p in data.iterdir() if p.is_file())
    assert {"auth.secret", "signing.pem", "ledger.sqlite", "notes.txt"} <= set(files)
    assert {name: mode(data / name) for name in files} == {name: 0o600 for name in files}
    # The first epoch's key-encryption key (docs/erasure.md).
    assert mode(data / "keys") == 0o700
    assert {p.name: mode(p) for p in (data / "keys").iterdir()} == {"epoch-00000001.kek": 0o600}


def test_token_refuses_to_make_up_a_secret_and_names_the_data_dir_it_looked_in(
    tmp_path: Path,
) -> None:
    refused = ledger(tmp_path, "token", "--role", "officer", "--actor", "olga")

    assert refused.returncode != 0
    message = " ".join(refused.stderr.split())
    assert str((tmp_path / "var").resolve()) in message
    assert "ledger init" in message and "make run" in message
    assert refused.stdout == ""
    assert not (tmp_path / "var" / "auth.secret").exists()


def test_token_mints_once_init_has_made_the_secret_or_with_the_secret_configured(
    tmp_path: Path,
) -> None:
    assert ledger(tmp_path, "init").returncode == 0
    after_init = ledger(tmp_path, "token", "--role", "officer", "--actor", "olga")
    assert after_init.returncode == 0, after_init.stderr
    assert after_init.stdout.count(".") == 2  # a JWT

    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    configured = ledger(
        elsewhere, "token", "--role", "officer", "--actor", "olga",
        LEDGER_AUTH_SECRET="a-configured-secret-of-at-least-32-bytes!",
    )
    assert configured.returncode == 0, configured.stderr
    assert not (elsewhere / "var").exists()


def test_serve_refuses_to_start_with_a_token_secret_shorter_than_32_bytes(tmp_path: Path) -> None:
    refused = ledger(tmp_path, "serve", LEDGER_AUTH_SECRET="only-31-bytes-long-secret-here!")

    assert refused.returncode == 2
    assert "LEDGER_AUTH_SECRET: LEDGER_AUTH_SECRET must be at least 32 bytes" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "var").exists()


def test_an_identity_provider_without_an_audience_is_refused_at_start(tmp_path: Path) -> None:
    refused = ledger(tmp_path, "serve", LEDGER_OIDC_ISSUER="https://login.example.org")

    assert refused.returncode == 2
    assert "LEDGER_OIDC_AUDIENCE must be set" in refused.stderr


def test_token_says_tokens_come_from_the_provider_when_one_is_configured(tmp_path: Path) -> None:
    refused = ledger(
        tmp_path, "token", "--role", "officer", "--actor", "olga",
        LEDGER_OIDC_ISSUER="https://login.example.org", LEDGER_OIDC_AUDIENCE="api://ledger",
    )

    assert refused.returncode != 0
    assert "tokens come from your identity provider (https://login.example.org)" in " ".join(
        refused.stderr.split()
    )
    assert refused.stdout == ""
