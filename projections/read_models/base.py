"""What every read model is: a `Projection` (a name to track, its tables, one handler per event)
and `Writer`, the few kinds of row change a handler may ask for.

The runner calls the handlers inside the batch transaction that also moves the projection's
tracking position, so the rows and the position commit together. A handler only tells its
`Writer` which rows change; it never writes SQL, never commits, never reads the clock and never
calls out, so replaying the same events always gives the same rows. Two writers implement the
protocol: `Writes` (projections/read_models/writes.py), which holds the changes back and sends
them as few SQL statements as it can, on SQLite or PostgreSQL; and the in-memory writer of the
unit tests (tests/unit/in_memory_writer.py), which lets a handler be tested without a database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from eventsourcing.utils import get_topic

from projections.storage.tables import Table

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Among:
    """A condition on a column: its value is the `column` of a row of `table` that matches
    `where` (in SQL, `IN (SELECT column FROM table WHERE ...)`)."""

    table: Table
    column: str
    where: Mapping[str, Any] = field(default_factory=dict)


# Which rows a change is for: column → the value it must equal (None: the column is NULL), or
# `Among`. Every condition must hold.
Where = Mapping[str, Any]


class Writer(Protocol):
    """The row changes a handler may make. Tables are given as their `Table` (which names the
    primary key); every change touches only the table it names."""

    def insert(self, table: Table, row: Row) -> None:
        """Add a row; its primary key is new."""

    def upsert(self, table: Table, row: Row) -> None:
        """Insert, or overwrite every given column of the row with the same key."""

    def update(self, table: Table, key: Key, values: Row) -> None:
        """Set `values` on the row with primary key `key`: nothing if there is no such row."""

    def update_where(
        self, table: Table, where: Where, values: Row, *, add: Row | None = None
    ) -> None:
        """Set `values` on every row matching `where`, and add `add`'s numbers to its columns
        (`add={"tenancy": 1}`: one more than it was)."""

    def delete_where(self, table: Table, where: Where) -> None:
        """Delete every row matching `where`."""

    def insert_copying(
        self, table: Table, row: Row, source: Table, key: Key, copied: Mapping[str, str]
    ) -> None:
        """Insert `row` with the columns of `copied` (column → column of `source`) taken from
        the row of `source` with primary key `key`; nothing when there is no such row. For an
        event that does not carry a value the row needs (the tenant of an access request)."""


Handler = Callable[[Writer, Any, int], None]


class Projection:
    name: str = ""
    tables: tuple[Table, ...] = ()
    # Bump it when the tables change (a column, a key, an index): at the next start the read
    # model is dropped, made anew and rebuilt from the events (projections/read_models/versions.py).
    version: int = 1

    def handlers(self) -> dict[type, Handler]:
        """Event class → handler(writer, event, position)."""
        raise NotImplementedError

    def topics(self) -> dict[str, Handler]:
        return {get_topic(kind): handler for kind, handler in self.handlers().items()}
