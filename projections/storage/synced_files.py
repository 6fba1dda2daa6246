"""Making a file, or a folder's list of names, durable: what a rename or an unlink promises only
once the folder itself is synced (a KEK written or destroyed, a backup renamed into place)."""

from __future__ import annotations

import os
from pathlib import Path


def sync(path: Path) -> None:
    """fsync `path`, a file or a folder."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
