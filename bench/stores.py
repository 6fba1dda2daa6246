"""Throwaway stores: a PostgreSQL database `ledger_bench_<random>` (dropped afterwards) or a SQLite
file in a temporary folder, each with its own data dir (master key, auth secret, signing key)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api import keyfiles
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from projections.storage.postgres import postgres_parts

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
STORES = ("sqlite", "postgres")


def pg_admin_url() -> str:
    return os.environ.get(
        "LEDGER_BENCH_POSTGRES_URL",
        os.environ.get("LEDGER_TEST_POSTGRES_URL", DEFAULT_PG_ADMIN_URL),
    )


def conninfo(url: str) -> str:
    return " ".join(f"{k}={v}" for k, v in postgres_parts(url).items() if v)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@dataclass
class Scratch:
    """One throwaway store: its URL, its data dir, and settings for both."""

    store: str
    url: str
    data_dir: Path

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            database_url=self.url, data_dir=self.data_dir, _env_file=None,  # type: ignore[call-arg]
            **overrides,
        )

    def env(self) -> dict[str, str]:
        """What a `ledger` process needs to use this store (the keys are in the data dir)."""
        return {"LEDGER_DATABASE_URL": self.url, "LEDGER_DATA_DIR": str(self.data_dir)}

    @contextmanager
    def opened(self, group_commit: bool | None = None) -> Iterator[Stores]:
        stores = open_stores(self.settings())
        if group_commit is not None:
            stores.ledger.group_commit = (
                None if not group_commit else _committer(stores.ledger)
            )
        try:
            yield stores
        finally:
            stores.close()

    @property
    def pg_conninfo(self) -> str:
        return conninfo(self.url)


def _committer(ledger: Any) -> Any:
    from domain.ledger.group_commit import GroupCommitter

    return ledger.group_commit or GroupCommitter(ledger._put)


@contextmanager
def scratch(store: str, label: str = "") -> Iterator[Scratch]:
    """A fresh, empty store of this kind, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=f"ledger-bench-{label or store}-"))
    try:
        if store == "sqlite":
            found = Scratch(store, f"sqlite:///{folder}/ledger.sqlite", folder / "var")
            keyfiles.ensure_all(found.settings())
            yield found
            return
        import psycopg

        admin = pg_admin_url()
        name = f"ledger_bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(conninfo(admin), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            found = Scratch(store, _with_database(admin, name), folder / "var")
            keyfiles.ensure_all(found.settings())
            yield found
        finally:
            with psycopg.connect(conninfo(admin), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(conninfo(pg_admin_url()), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error) else "no answer"
    return None
