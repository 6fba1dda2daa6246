"""`ledger keys rotate-master`: a new master key for every data key, without touching an event.

Every live data key (and the derivation root of the email-lookup and unsubscribe-link keys)
is unwrapped with the current master key and wrapped again under the new one, in one
database transaction: all or nothing. Shredded keys stay shredded. The events, the read
models and the Merkle log do not change, so `ledger verify` holds before and after.

Where the new key goes depends on where the current one came from:

- **the data dir's `master.key`** (the default): the new key is written next to it as
  `master.key.new` (mode 0600) *before* the database changes; once the transaction commits it
  becomes `master.key`, and the old key is kept as `master.key.old-<UTC time>` (mode 0600),
  because backups made before the rotation still need it (`--remove-old` deletes it instead).
  If the command is interrupted between the commit and the renames, running it again finishes
  the job: it notices that `master.key.new` is the key that opens the store.
- **`LEDGER_MASTER_KEY`** (the environment): the command cannot change the environment of
  the processes, so it takes the new key from `--new-key-file` and says what to set.

Run it with every `ledger serve` and `ledger worker` stopped, then start them with the new
key. A process that kept running with the old key refuses to create data keys rather than
writing keys nobody can open (projections.keystore.MasterKeyMismatch).
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path

import typer

NEW_SUFFIX = ".new"
OLD_SUFFIX = ".old-"


def _read_key_file(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = b""
    if len(key) != 32:
        raise typer.BadParameter(
            f"{path} must hold the base64 of exactly 32 bytes", param_hint="--new-key-file"
        )
    return key


def _write_private(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(key))
        handle.flush()
        os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    # The renames must survive a crash too, not only the file contents.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _put_in_place(key_file: Path, remove_old: bool) -> Path | None:
    """`master.key.new` becomes `master.key`; the old one is kept aside (or removed)."""
    new_file = key_file.with_name(key_file.name + NEW_SUFFIX)
    kept: Path | None = None
    if remove_old:
        key_file.unlink(missing_ok=True)
    else:
        stamp = datetime.now(tz=timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        kept = key_file.with_name(f"{key_file.name}{OLD_SUFFIX}{stamp}")
        os.replace(key_file, kept)
    os.replace(new_file, key_file)
    _sync_folder(key_file.parent)
    return kept


def rotate_master(
    new_key_file: Path | None = typer.Option(
        None, "--new-key-file", exists=True, dir_okay=False,
        help="a file holding the new key (base64 of 32 bytes); required when "
        "LEDGER_MASTER_KEY is set, otherwise a new key is generated",
    ),
    remove_old: bool = typer.Option(
        False, "--remove-old",
        help="delete the old key file instead of keeping it as master.key.old-<time> "
        "(backups made before the rotation then cannot be opened)",
    ),
) -> None:
    """Re-wrap every data key under a new master key. Stop every ledger process first."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from api import keyfiles
    from api.settings import get_settings
    from api.wiring import open_stores
    from domain.keys import MasterKey
    from projections.keystore import MasterKeyMismatch

    settings = get_settings()
    console = Console(highlight=False)
    from_environment = settings.master_key is not None
    key_file = settings.data_dir / keyfiles.MASTER_KEY_FILE
    pending = key_file.with_name(key_file.name + NEW_SUFFIX)
    if from_environment and new_key_file is None:
        console.print(
            "LEDGER_MASTER_KEY comes from the environment, which this command cannot change.\n"
            "Make a new key, e.g.\n"
            "  python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'"
            " > new-master.key && chmod 600 new-master.key\n"
            "then run: ledger keys rotate-master --new-key-file new-master.key"
        )
        raise typer.Exit(2)

    stores = open_stores(settings)
    try:
        if not from_environment and pending.exists():
            waiting = MasterKey(_read_key_file(pending))
            if stores.keys.opens_store(waiting) and not stores.keys.opens_store(
                MasterKey(keyfiles.master_key(settings))
            ):
                kept = _put_in_place(key_file, remove_old)
                console.print(
                    "[green]Finished an interrupted rotation[/green]: the store was already "
                    f"re-wrapped under {pending.name}, which is now {key_file.name}"
                    + (f"; the old key is kept as {kept.name}" if kept else "")
                )
                return
            pending.unlink()  # left by a rotation that never committed: not the store's key

        current = keyfiles.master_key(settings)
        new = _read_key_file(new_key_file) if new_key_file else secrets.token_bytes(32)
        if new == current:
            raise typer.BadParameter(
                "the new key is the current key", param_hint="--new-key-file"
            )
        if not from_environment:
            _write_private(pending, new)  # on disk before the store depends on it
        with Progress(
            TextColumn("re-wrapping data keys"), BarColumn(), MofNCompleteColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("rewrap", total=None)
            try:
                count = stores.keys.rotate_master(
                    current, new, progress=lambda done, total: bar.update(
                        task, completed=done, total=total
                    ),
                )
            except MasterKeyMismatch as error:
                if not from_environment:
                    pending.unlink(missing_ok=True)
                console.print(f"[red]Nothing changed[/red]: {error}")
                raise typer.Exit(1) from None
            except BaseException:
                if not from_environment:
                    pending.unlink(missing_ok=True)  # the transaction rolled back
                raise
            bar.update(task, completed=count, total=max(count, 1))
    finally:
        stores.close()

    console.print(
        f"[green]Re-wrapped {count} data keys[/green] under the new master key; "
        "no event was changed."
    )
    if from_environment:
        console.print(
            f"Set LEDGER_MASTER_KEY to the contents of {new_key_file} for every ledger process "
            "and restart them; the old key no longer opens this store. Keep the old key with "
            "the backups made before now: they need it."
        )
        return
    kept = _put_in_place(key_file, remove_old)
    console.print(f"The new key is {key_file} (mode 0600).")
    if kept is not None:
        console.print(
            f"The old key is kept as {kept}: backups made before now need it. Move it to "
            "where those backups are kept, away from this machine."
        )
    console.print("Restart every ledger process (serve, worker) so they read the new key.")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The master key that wraps every data key.", no_args_is_help=True)
    group.command("rotate-master")(rotate_master)
    app.add_typer(group, name="keys")
