"""`Writes`: the `Writer` (projections/read_models/base.py) the runner gives the handlers, which
turns their row changes into as few SQL statements as it can, on SQLite or PostgreSQL.

Text a store cannot keep: PostgreSQL refuses the NUL character in a text column, and one
event holding it (stored before the domain refused NUL, or written past it) would fail its
batch for good. So `Writes` stores every NUL in text as the six characters `\\u0000`, on both
stores alike, in every value it is given (rows, keys, statement parameters): a read model
shows where the NUL was, and a query by such a value finds the row, since its parameters are
escaped the same way. A literal `\\u0000` already in a text stays as it was, so the escape
cannot be told apart from it; no read model needs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from projections.read_models.base import Among, Key, Row, Where
from projections.storage.database import Cursor, Params
from projections.storage.tables import Table

NUL, NUL_ESCAPE = "\x00", "\\u0000"


def storable(value: Any) -> Any:
    """`value` as a text column can keep it: NUL escaped (see the module's docstring)."""
    if isinstance(value, str) and NUL in value:
        return value.replace(NUL, NUL_ESCAPE)
    return value


def _storable_row(row: Row) -> Row:
    # The hot path: one `in` per text value, and a copy only of a row that holds a NUL.
    for value in row.values():
        if isinstance(value, str) and NUL in value:
            return {column: storable(v) for column, v in row.items()}
    return row


def _storable_params(params: Params) -> Params:
    for value in params:
        if isinstance(value, str) and NUL in value:
            return tuple(storable(v) for v in params)
    return params


class Writes:
    """A batch's row changes, held back and sent as one statement per table and shape.

    Why: one statement per change cost a rebuild most of its time in the driver (psycopg's
    client work per statement, even pipelined: 2.85 statements per event). Most changes are
    an insert, an upsert or a set-columns-by-key update of one row, so they are kept per table
    and primary key, merged where the outcome is the same (a later update folded into a held
    insert; the last of several upserts or updates of one key), and sent when something else
    must run (`execute`) or the batch ends (`flush`): an `executemany` per table and shape, or
    on PostgreSQL one statement over arrays for the inserts and upserts.

    Why the result is the same as running each statement at once:
    - held changes touch only their own table and row, so changes to different keys commute
      and may go in any order; one key has one merged change, exact by the rules in `_merge`;
    - a change by condition (`update_where`, `delete_where`, `insert_copying` from a row not
      held) and any other statement (`execute`) first send everything held, so each sees
      what came before it;
    - the runner calls `flush` before it moves the tracking positions, in the same
      transaction: rows and position still commit together.

    Every value is made storable on the way in (`storable`: NUL escaped), keys included, so
    held rows, merges and `held_value` all see the stored form.
    """

    def __init__(self, cursor: Cursor, dialect: str = "sqlite") -> None:
        self.cursor = cursor
        # On PostgreSQL a group of inserts (or upserts) goes as one statement over arrays, one
        # per column: the server runs one statement instead of hundreds, and the driver sends
        # a few arrays instead of a row each (an executemany costs a few µs per row).
        self.arrays = dialect == "postgresql"
        self._held: dict[str, tuple[Table, dict[tuple[Any, ...], tuple[str, Row]]]] = {}

    def execute(self, sql: str, params: Params = ()) -> None:
        """Any statement: runs in order after everything held so far."""
        self.flush()
        self.cursor.execute(sql, _storable_params(params))

    def insert(self, table: Table, row: Row) -> None:
        self._hold(table, "insert", row)

    def upsert(self, table: Table, row: Row) -> None:
        """Insert, or overwrite every given column of the row with the same key."""
        self._hold(table, "upsert", row)

    def update(self, table: Table, key: tuple[Any, ...], values: Row) -> None:
        """`UPDATE table SET <values> WHERE <primary key> = key`: nothing if there is no row."""
        self._hold(table, "update", {**dict(zip(table.key, key)), **values})

    def held_value(self, table: Table, key: tuple[Any, ...], column: str) -> Any:
        """A column of a row this batch inserted and has not sent yet, or None: what a
        statement reading that row would see, without sending everything held first."""
        held = self._held.get(table.name)
        entry = held[1].get(_storable_params(key)) if held is not None else None
        if entry is None or entry[0] != "insert":
            return None
        return entry[1].get(column)

    # Changes by condition go at once, after everything held: they may touch held rows.
    def update_where(
        self, table: Table, where: Where, values: Row, *, add: Row | None = None
    ) -> None:
        added = add or {}
        assignments = [f"{c} = %s" for c in values] + [f"{c} = {c} + %s" for c in added]
        condition, params = _conditions(where)
        self.execute(
            f"UPDATE {table.name} SET {', '.join(assignments)} WHERE {condition}",
            (*values.values(), *added.values(), *params),
        )

    def delete_where(self, table: Table, where: Where) -> None:
        condition, params = _conditions(where)
        self.execute(f"DELETE FROM {table.name} WHERE {condition}", tuple(params))

    def insert_copying(
        self, table: Table, row: Row, source: Table, key: Key, copied: Mapping[str, str]
    ) -> None:
        """A source row this batch holds gives its values at once, and the row is held like
        any insert. Otherwise one `INSERT ... SELECT` takes them from the source row inside
        the statement: reading them first would need a result in the middle of the runner's
        pipelined batch, which PostgreSQL's pipeline refuses."""
        found = {column: self.held_value(source, key, taken) for column, taken in copied.items()}
        if None not in found.values():
            self.insert(table, {**row, **found})
            return
        picked = ", ".join([*["%s"] * len(row), *copied.values()])
        keyed = " AND ".join(f"{c} = %s" for c in source.key)
        self.execute(
            f"INSERT INTO {table.name} ({', '.join([*row, *copied])}) "
            f"SELECT {picked} FROM {source.name} WHERE {keyed}",
            (*row.values(), *key),
        )

    def _hold(self, table: Table, kind: str, row: Row) -> None:
        row = _storable_row(row)
        entry = self._held.get(table.name)
        if entry is None:
            entry = self._held[table.name] = (table, {})
        held = entry[1]
        key = tuple([row[column] for column in table.key])
        earlier = held.get(key)
        if earlier is None:
            held[key] = (kind, row)
            return
        merged = _merge(earlier, kind, row)
        if merged is None:  # no exact merge: send what is held, then hold this one
            self._send(table, held)
            held[key] = (kind, row)
        else:
            held[key] = merged

    def flush(self) -> None:
        for table, held in self._held.values():
            self._send(table, held)

    def _send(self, table: Table, held: dict[tuple[Any, ...], tuple[str, Row]]) -> None:
        if not held:
            return
        # One statement per kind and set of columns; distinct keys commute, so grouping
        # them out of their original order changes nothing.
        groups: dict[tuple[str, tuple[str, ...]], list[tuple[Any, ...]]] = {}
        for kind, row in held.values():
            columns = tuple(row)
            groups.setdefault((kind, columns), []).append(tuple(row.values()))
        held.clear()
        for (kind, columns), rows in groups.items():
            if self.arrays and kind != "update":
                arrays = [list(column) for column in zip(*rows)]  # a tuple would be a record
                self.cursor.execute(_array_statement(table, kind, columns), arrays)
                continue
            sql, order = _statement(table, kind, columns)
            if order is not None:
                rows = [tuple(values[i] for i in order) for values in rows]
            self.cursor.executemany(sql, rows)


def _conditions(where: Where) -> tuple[str, list[Any]]:
    """`where` (see projections/read_models/base.py) as SQL, with its parameters."""
    if not where:
        raise ValueError("a change by condition needs a condition")
    parts: list[str] = []
    params: list[Any] = []
    for column, value in where.items():
        if value is None:
            parts.append(f"{column} IS NULL")
        elif isinstance(value, Among):
            inner, inner_params = _conditions(value.where)
            parts.append(
                f"{column} IN (SELECT {value.column} FROM {value.table.name} WHERE {inner})"
            )
            params += inner_params
        else:
            parts.append(f"{column} = %s")
            params.append(value)
    return " AND ".join(parts), params


def _merge(earlier: tuple[str, Row], kind: str, row: Row) -> tuple[str, Row] | None:
    """One change equal to `earlier` followed by (kind, row) on the same key, or None.

    - insert/upsert/update, then update: the same change with the updated columns replaced;
    - insert or upsert, then upsert of the same columns: the later row (an upsert overwrites
      every column it names; after an insert it is a conflict, so the later values win).
    """
    earlier_kind, earlier_row = earlier
    if kind == "update":
        return earlier_kind, {**earlier_row, **row}
    same_columns = row.keys() == earlier_row.keys()
    if kind == "upsert" and earlier_kind in ("insert", "upsert") and same_columns:
        return earlier_kind, row
    return None


Shape = tuple[str, str, tuple[str, ...]]  # table, kind, columns
_STATEMENTS: dict[Shape, tuple[str, tuple[int, ...] | None]] = {}
_ARRAY_STATEMENTS: dict[Shape, str] = {}


def _statement(
    table: Table, kind: str, columns: tuple[str, ...]
) -> tuple[str, tuple[int, ...] | None]:
    """The SQL for one row of a group, and how to reorder its values (an update names its key
    last)."""
    cached = _STATEMENTS.get((table.name, kind, columns))
    if cached is not None:
        return cached
    order: tuple[int, ...] | None = None
    if kind == "update":
        values = [c for c in columns if c not in table.key]
        sql = (
            f"UPDATE {table.name} SET {', '.join(f'{c} = %s' for c in values)} "
            f"WHERE {' AND '.join(f'{c} = %s' for c in table.key)}"
        )
        order = tuple(columns.index(c) for c in (*values, *table.key))
    else:
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({placeholders})"
        sql += _on_conflict(table, kind, columns)
    _STATEMENTS[(table.name, kind, columns)] = (sql, order)
    return sql, order


def _array_statement(table: Table, kind: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL: insert (or upsert) a whole group at once, one array per column. The keys
    of a group are distinct, so an upsert never meets the same row twice in one statement."""
    cached = _ARRAY_STATEMENTS.get((table.name, kind, columns))
    if cached is not None:
        return cached
    types = table.postgres_types
    # Binary (%b): psycopg dumps a list of strings or ints three times faster than as text.
    arrays = ", ".join(f"%b::{types[c]}[]" for c in columns)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"
        + _on_conflict(table, kind, columns)
    )
    _ARRAY_STATEMENTS[(table.name, kind, columns)] = sql
    return sql


def _on_conflict(table: Table, kind: str, columns: tuple[str, ...]) -> str:
    if kind != "upsert":
        return ""
    values = [c for c in columns if c not in table.key]
    return f" ON CONFLICT ({', '.join(table.key)}) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in values
    )

