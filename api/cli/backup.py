"""`ledger backup PATH`: a consistent copy of the store, taken while the ledger keeps running.

- **SQLite**: SQLite's online backup API copies the one database file (events, read models,
  Merkle log, wrapped data keys) page by page into PATH. If the ledger writes meanwhile, SQLite
  restarts the copy; after a few restarts the copy is taken in one step instead, which under
  WAL is a consistent snapshot that writers do not wait for. The copy is checked
  (`PRAGMA quick_check`), switched to a self-contained rollback journal, written as
  PATH.partial and renamed into place only when complete, with mode 0600.
- **PostgreSQL**: `pg_dump --format=custom` (one consistent snapshot; writers do not wait)
  when `pg_dump` is on the PATH; otherwise the command prints the `pg_dump` line to run.

A backup holds the data keys wrapped by the master key, never the master key itself: keep
the master key (and the checkpoint signing key, which `ledger verify` needs) safely elsewhere.
Restoring is described in docs/reliability.md.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import typer

from projections.storage import synced_files
PAGES_PER_STEP = 256
RESTARTS_BEFORE_ONE_STEP = 3

Progress = Callable[[int, int], None]  # (done, total)


class BackupFailed(RuntimeError):
    pass


class _Restarted(Exception):
    """The source kept changing under a stepped copy."""


def backup_sqlite(source: Path, target: Path, progress: Progress | None = None) -> None:
    """Copy the SQLite store at `source` into `target` (mode 0600), online."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        live.execute("PRAGMA busy_timeout = 30000")
        try:
            live.backup(copy, pages=PAGES_PER_STEP, progress=_watch(progress))
        except _Restarted:
            live.backup(copy, pages=-1)  # one step: one read snapshot, nothing to restart
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise BackupFailed(f"the copy does not pass SQLite's quick_check: {verdict}")
        # A copy that needs no -wal file beside it: one file is the whole backup.
        copy.execute("PRAGMA journal_mode = DELETE")
    except BaseException:
        copy.close()
        live.close()
        partial.unlink(missing_ok=True)
        raise
    copy.close()
    live.close()
    synced_files.sync(partial)
    os.replace(partial, target)
    synced_files.sync(target.parent)


def _watch(progress: Progress | None) -> Callable[[int, int, int], None]:
    last: list[int] = []
    restarts = [0]

    def step(_status: int, remaining: int, total: int) -> None:
        # A step that copied pages leaves fewer remaining; after a restart the copy begins
        # again, so as many or more remain.
        if last and remaining >= last[-1]:
            restarts[0] += 1
            if restarts[0] >= RESTARTS_BEFORE_ONE_STEP:
                raise _Restarted()
        last[:] = [remaining]
        if progress is not None:
            progress(total - remaining, total)

    return step


def pg_dump_command(target: Path) -> list[str]:
    """The pg_dump call (connection settings go in PG* environment variables, so that a
    password never shows in the process list)."""
    return ["pg_dump", "--format=custom", "--verbose", f"--file={target}"]


def pg_environment(database_url: str) -> dict[str, str]:
    from projections.storage.postgres import postgres_parts

    parts = postgres_parts(database_url)
    env = {
        "PGHOST": parts["host"], "PGPORT": parts["port"], "PGUSER": parts["user"],
        "PGDATABASE": parts["dbname"],
    }
    if parts["password"]:
        env["PGPASSWORD"] = parts["password"]
    return env


def _count_tables(database_url: str) -> int:
    from projections.storage.database import open_database

    db = open_database(database_url)
    try:
        row = db.fetchone(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', "
            "'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'"
        )
    finally:
        db.close()
    return int(row[0]) if row else 0


def backup_postgres(database_url: str, target: Path, progress: Progress | None = None) -> None:
    """Run pg_dump into `target` (mode 0600); BackupFailed with its message if it fails."""
    executable = shutil.which("pg_dump")
    if executable is None:
        raise FileNotFoundError("pg_dump")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    tables = max(_count_tables(database_url), 1)
    command = [executable, *pg_dump_command(partial)[1:]]
    env = {**os.environ, **pg_environment(database_url)}
    done = 0
    kept: list[str] = []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "dumping contents of table" in line:
                done += 1
                if progress is not None:
                    progress(min(done, tables), tables)
            elif "error" in line.lower():
                kept.append(line.strip())
    if process.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupFailed("pg_dump failed: " + (" ".join(kept) or f"exit {process.returncode}"))
    synced_files.sync(partial)
    os.replace(partial, target)
    synced_files.sync(target.parent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def backup(
    path: Path = typer.Argument(..., help="where to write the copy", dir_okay=False),
    force: bool = typer.Option(False, "--force", help="replace PATH if it exists"),
) -> None:
    """Copy the store to PATH while the ledger keeps running (SQLite: online backup;
    PostgreSQL: pg_dump --format=custom)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from api.settings import get_settings
    from projections.storage.postgres import URLS
    from projections.storage.sqlite import MEMORY_URL, sqlite_path

    settings = get_settings()
    url = settings.database_url
    console = Console(highlight=False)
    if url.startswith(MEMORY_URL):
        console.print(f"[red]Nothing to back up[/red]: a {MEMORY_URL} store keeps nothing on disk")
        raise typer.Exit(2)
    if path.exists() and not force:
        console.print(f"[red]{path} exists[/red]; choose another path or pass --force")
        raise typer.Exit(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    postgres = url.startswith(URLS)
    if postgres and shutil.which("pg_dump") is None:
        console.print(
            "pg_dump is not installed here. Run it where it is (same major version as the "
            "server), with PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE set for the store:"
        )
        console.print(f"  pg_dump --format=custom --file={path}")
        raise typer.Exit(1)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("copying tables" if postgres else "copying pages", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            if postgres:
                backup_postgres(url, path, advance)
            else:
                source = Path(sqlite_path(url))
                if not source.exists():
                    console.print(f"[red]No store at {source}[/red]")
                    raise typer.Exit(2)
                backup_sqlite(source, path, advance)
        except BackupFailed as error:
            console.print(f"[red]Backup failed[/red]: {error}")
            raise typer.Exit(1) from None
    console.print(
        f"[green]Backed up[/green] to {path} ({path.stat().st_size} bytes, "
        f"sha256 {_sha256(path)})"
    )
    console.print(
        "The copy holds the data keys wrapped by the master key, not the master key: keep "
        "the master key and the signing key safely elsewhere; a restore needs both."
    )


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
