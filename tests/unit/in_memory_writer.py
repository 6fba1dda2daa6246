"""A read model kept in memory: `InMemoryWriter` implements the `Writer` protocol the handlers
write through (projections/read_models/base.py) over plain dictionaries, and `InMemoryReadModel`
feeds a projection the events of real aggregates, so a read model's handlers are tested without
a database.

The writer follows the rules a database would: a primary key is unique, a column a row does
not give is NULL, an update of a row that is not there changes nothing, an upsert overwrites
only the columns it names, and a condition on NULL asks "is NULL". It is not a copy of `Writes`
(projections/read_models/writes.py): that one is tested against SQLite and PostgreSQL by the
integration tests, this one lets the unit tests say what each event leaves for a reader.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.ledger.keys import InMemoryKeyStore
from projections.read_models.base import Among, Key, Projection, Row, Where, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import moment
from projections.storage.tables import Table


class DuplicateKey(Exception):
    """An insert of a primary key that is already there (a database's unique violation)."""


class InMemoryWriter:
    def __init__(self) -> None:
        self.tables: dict[str, dict[Key, Row]] = {}

    def rows_of(self, table: Table) -> dict[Key, Row]:
        return self.tables.setdefault(table.name, {})

    # The Writer protocol
    def insert(self, table: Table, row: Row) -> None:
        given = _given(table, row)
        complete = {column: given.get(column) for column in table.column_names}
        key = tuple(complete[column] for column in table.key)
        rows = self.rows_of(table)
        if key in rows:
            raise DuplicateKey(f"{table.name} already has a row {key}")
        rows[key] = complete

    def upsert(self, table: Table, row: Row) -> None:
        found = self.rows_of(table).get(tuple(row[column] for column in table.key))
        if found is None:
            self.insert(table, row)
        else:
            found.update(_given(table, row))

    def update(self, table: Table, key: Key, values: Row) -> None:
        found = self.rows_of(table).get(tuple(key))
        if found is not None:
            found.update(_given(table, values))

    def update_where(
        self, table: Table, where: Where, values: Row, *, add: Row | None = None
    ) -> None:
        for row in self.matching(table, where):  # all found before any changes, as in SQL
            row.update(_given(table, values))
            for column, amount in _given(table, add or {}).items():
                row[column] += amount

    def delete_where(self, table: Table, where: Where) -> None:
        rows = self.rows_of(table)
        for key in [key for key, row in rows.items() if self._matches(row, where)]:
            del rows[key]

    def insert_copying(
        self, table: Table, row: Row, source: Table, key: Key, copied: Mapping[str, str]
    ) -> None:
        found = self.rows_of(source).get(tuple(key))
        if found is not None:
            self.insert(table, {**row, **{column: found[taken] for column, taken in copied.items()}})

    # Reading
    def matching(self, table: Table, where: Where) -> list[Row]:
        """The rows matching `where`, in the order they were inserted."""
        return [row for row in self.rows_of(table).values() if self._matches(row, where)]

    def _matches(self, row: Row, where: Where) -> bool:
        for column, wanted in where.items():
            value = row[column]
            if isinstance(wanted, Among):
                if value not in [r[wanted.column] for r in self.matching(wanted.table, wanted.where)]:
                    return False
            elif wanted is None:
                if value is not None:
                    return False
            elif value is None or value != wanted:
                return False
        return True


def _given(table: Table, values: Row) -> Row:
    """`values`, once each of its columns is found to be one of the table's."""
    unknown = sorted(set(values) - set(table.column_names))
    if unknown:
        raise KeyError(f"{table.name} has no column {', '.join(unknown)}")
    return values


class InMemoryReadModel:
    """One projection over an `InMemoryWriter`, with the key store and column sealer it seals
    personal fields with. `apply` hands it the new events of real aggregates, each at the next
    position, as the runner would; an event it has no handler for passes by, its position used.
    """

    def __init__(self, make: Callable[[ColumnSealer], Projection]) -> None:
        self.keys = InMemoryKeyStore()
        self.sealer = ColumnSealer(self.keys)
        self.projection = make(self.sealer)
        self.rows = InMemoryWriter()
        self.writer: Writer = self.rows
        self.position = 0

    def apply(self, *aggregates: Aggregate) -> list[int]:
        """Applies each aggregate's pending events, in order; returns their positions."""
        handlers = self.projection.handlers()
        positions = []
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                self.position += 1
                positions.append(self.position)
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(self.writer, event, self.position)
        return positions

    def row(self, table: Table, *key: Any) -> Row | None:
        """The row with this primary key as a reader would see it (see `shown`)."""
        found = self.rows.rows_of(table).get(tuple(_stored(part) for part in key))
        return None if found is None else self.shown(table, found)

    def rows_where(self, table: Table, **where: Any) -> list[Row]:
        wanted = {column: _stored(value) for column, value in where.items()}
        return [self.shown(table, row) for row in self.rows.matching(table, wanted)]

    def shown(self, table: Table, row: Row) -> Row:
        """Sealed columns opened with their owner's key, and times as datetimes."""
        key = tuple(row[column] for column in table.key)
        shown = dict(row)
        for column, owner in table.sealed.items():
            shown[column] = self.sealer.open(row[owner], table.name, key, column, row[column])
        for column, value in row.items():
            if _is_time(column) and isinstance(value, int):
                shown[column] = moment(value)
        return shown


def _stored(value: Any) -> Any:
    """Ids are kept as text."""
    return str(value) if isinstance(value, UUID) else value


def _is_time(column: str) -> bool:
    # Times are whole microseconds since the epoch (projections/read_models/tables.py).
    return column in ("at", "since", "purge_after", "valid_until") or column.endswith("_at")
