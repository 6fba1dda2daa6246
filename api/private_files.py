"""The data dir and the SQLite store are their owner's alone: folders 0700, files 0600.

They hold the key-encryption keys (in `keys/`, unless LEDGER_KEY_DIR puts them elsewhere), the
token secret, the signing key, wrapped data keys and sealed personal data. Keys are created
0600 (api/keyfiles.py), but SQLite creates its files with the process's umask (often 0644),
and a data dir made by hand or by an older version may be looser: `ledger init` and every
start tighten whatever they find, so nobody else on the machine can read a byte of it.
"""

from __future__ import annotations

import os
from pathlib import Path

from api.settings import Settings

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(folder: Path) -> None:
    """Create `folder` (0700) if needed; tighten it if it is open to others."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _tighten(folder, FOLDER_MODE)


def make_private(settings: Settings) -> None:
    """The data dir and everything in it, and the SQLite store with its -wal and -shm files
    wherever it lives, readable by the owner only."""
    private_folder(settings.data_dir)
    for root, folders, files in os.walk(settings.data_dir):
        for name in folders:
            _tighten(Path(root, name), FOLDER_MODE)
        for name in files:
            _tighten(Path(root, name), FILE_MODE)
    for path in _database_files(settings):
        _tighten(path, FILE_MODE)


def _database_files(settings: Settings) -> list[Path]:
    from projections.storage.sqlite import FILE_URL, sqlite_path

    if not settings.database_url.startswith(FILE_URL):
        return []
    database = Path(sqlite_path(settings.database_url))
    return [database, Path(f"{database}-wal"), Path(f"{database}-shm")]


def _tighten(path: Path, mode: int) -> None:
    # A path open to group or others becomes `mode`; one already private is left as it is,
    # and so is a symlink (its target may be anyone's file).
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    if path.is_symlink() or not status.st_mode & 0o077:
        return
    path.chmod(mode)
