"""Rebuild the read models from the events, or rebuild them aside and compare with the live ones.

`check` is how an auditor confirms that the tables the API answers from are what the events say:
it takes the live rows and their positions in one transaction (which briefly holds the runner
back, so rows and positions agree), replays the events up to exactly those positions into a
scratch schema (PostgreSQL) or an in-memory database (SQLite), and names every row that differs.
Sealed columns are compared by what they open to, since every sealing uses a fresh nonce.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from projections.storage.database import Cursor, Database
from projections.storage.postgres import PostgresDatabase
from projections.storage.sqlite import SqliteDatabase
from projections.storage.tables import Table
from projections.read_models.base import Projection
from projections.read_models.runner import ProjectionRunner
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import TRACKING_TABLE

Progress = Callable[[str, int], None]  # (read model, position reached)


def rebuild(
    ledger: Any, db: Database, projections: Sequence[Projection],
    progress: Progress | None = None,
) -> int:
    """Empty the given read models and replay every event into them. Safe while runners run:
    they notice the reset positions and start again from there. A stopped read model is tried
    again (the reset clears its failure). Returns events read."""
    runner = ProjectionRunner(ledger, db, projections)
    runner.reset()
    return runner.catch_up(progress=_per_batch(progress, "all"))


@dataclass(frozen=True)
class Difference:
    table: str
    key: dict[str, Any]
    kind: str  # "changed", "missing" (the events make it, the live table lacks it), "unexpected"
    columns: tuple[str, ...] = ()
    live: dict[str, Any] | None = None
    rebuilt: dict[str, Any] | None = None
    sealed: frozenset[str] = frozenset()

    def describe(self) -> str:
        """Names the row and the columns; never shows a sealed column's value."""
        row = ", ".join(f"{k}={v}" for k, v in self.key.items())
        where = f"{self.table} row ({row})"
        if self.kind == "missing":
            return f"{where}: missing from the live table"
        if self.kind == "unexpected":
            return f"{where}: in the live table but not made by any event"
        assert self.live is not None and self.rebuilt is not None
        changes = []
        for column in self.columns:
            if column in self.sealed:
                changes.append(f"{column} (sealed) differs")
            else:
                changes.append(
                    f"{column}: live {self.live[column]!r}, events say {self.rebuilt[column]!r}"
                )
        return f"{where}: " + "; ".join(changes)


@dataclass
class CheckReport:
    positions: dict[str, int]
    differences: list[Difference]
    rows_compared: int

    @property
    def ok(self) -> bool:
        return not self.differences


def check(
    ledger: Any, db: Database, keys: Any, projections: Sequence[Projection],
    progress: Progress | None = None,
) -> CheckReport:
    sealer = ColumnSealer(keys)
    tables = [table for projection in projections for table in projection.tables]
    names = [projection.name for projection in projections]
    ProjectionRunner(ledger, db, projections)  # makes sure tables and tracking rows exist
    with db.transaction() as cur:
        positions = _lock_positions(cur, db, names)
        live = {table.name: _rows(cur, table, sealer) for table in tables}
    differences: list[Difference] = []
    compared = 0
    with _scratch(db) as scratch:
        for projection in projections:
            runner = ProjectionRunner(ledger, scratch, [projection])
            runner.catch_up(
                until=positions[projection.name],
                progress=_per_batch(progress, projection.name),
            )
        with scratch.transaction() as cur:
            for table in tables:
                rebuilt = _rows(cur, table, sealer)
                compared += len(rebuilt)
                differences += _compare(table, live[table.name], rebuilt)
    return CheckReport(positions=positions, differences=differences, rows_compared=compared)


def _per_batch(progress: Progress | None, name: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda position: progress(name, position)


def _lock_positions(cur: Cursor, db: Database, names: list[str]) -> dict[str, int]:
    lock = " FOR UPDATE" if db.dialect == "postgresql" else ""
    cur.execute(
        f"SELECT name, position FROM {TRACKING_TABLE} WHERE name IN "
        f"({', '.join(['%s'] * len(names))}) ORDER BY name{lock}",
        names,
    )
    found = {name: int(position) for name, position in cur.fetchall()}
    return {name: found.get(name, 0) for name in names}


Row = dict[str, Any]


def _rows(cur: Cursor, table: Table, sealer: ColumnSealer) -> dict[tuple[Any, ...], Row]:
    columns = table.column_names
    cur.execute(f"SELECT {', '.join(columns)} FROM {table.name}")
    rows: dict[tuple[Any, ...], Row] = {}
    for values in cur.fetchall():
        row = dict(zip(columns, values))
        key = tuple(row[k] for k in table.key)
        for column, owner in table.sealed.items():
            row[column] = sealer.open(row[owner], table.name, key, column, row[column])
        rows[key] = row
    return rows


def _compare(
    table: Table, live: dict[tuple[Any, ...], Row], rebuilt: dict[tuple[Any, ...], Row]
) -> Iterator[Difference]:
    sealed = frozenset(table.sealed)
    for key in sorted(set(live) | set(rebuilt), key=lambda k: tuple(map(str, k))):
        named = dict(zip(table.key, key))
        if key not in live:
            yield Difference(table.name, named, "missing", rebuilt=rebuilt[key], sealed=sealed)
        elif key not in rebuilt:
            yield Difference(table.name, named, "unexpected", live=live[key], sealed=sealed)
        else:
            changed = tuple(
                c for c in table.column_names if live[key][c] != rebuilt[key][c]
            )
            if changed:
                yield Difference(
                    table.name, named, "changed", changed, live[key], rebuilt[key], sealed
                )


@contextmanager
def _scratch(db: Database) -> Iterator[Database]:
    """A throwaway store for the rebuilt tables: a schema of its own on PostgreSQL (dropped
    afterwards), a private in-memory database on SQLite (nothing left on disk)."""
    if isinstance(db, PostgresDatabase):
        schema = f"projection_check_{uuid.uuid4().hex[:12]}"
        db.execute(f'CREATE SCHEMA "{schema}"')
        scratch: Database = PostgresDatabase(db.conninfo, pool_size=2, schema=schema)
        try:
            yield scratch
        finally:
            scratch.close()
            db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return
    scratch = SqliteDatabase(None)
    try:
        yield scratch
    finally:
        scratch.close()
