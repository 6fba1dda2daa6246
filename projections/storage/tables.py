"""The one way the ledger makes its tables: a portable `Table` definition, and `ensure_tables`.

Every store (the read models, their bookkeeping, the Merkle log, the key store, idempotency
keys, portal sessions, delivered files) declares its tables as `Table`s and has them made by
`ensure_tables`, on SQLite and PostgreSQL alike: `{big_int}` and `{blob}` in a column list
become each backend's type. Making them is idempotent (`IF NOT EXISTS`), so every process calls
it at start; a column added to a table after its first release is listed in `added`, and a
store made before gets it (`ALTER TABLE`) before the indexes, which may name it, are made.

Why not more (a migration tool): a read model whose tables change shape is dropped and rebuilt
from the events instead (projections.read_models.versions); the other tables have only ever
gained columns.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field

from projections.storage.database import Database

_POSTGRES_TYPES = {"TEXT": "text", "INTEGER": "integer", "{big_int}": "bigint", "{blob}": "bytea"}


@dataclass(frozen=True)
class Table:
    name: str
    columns: str  # the column list of CREATE TABLE, with {big_int} and {blob} placeholders
    key: tuple[str, ...]
    indexes: tuple[str, ...] = ()  # "name ON table (cols)" fragments
    sealed: dict[str, str] = field(default_factory=dict)  # column -> owner-id column
    added: tuple[str, ...] = ()  # columns a store made before them lacks

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(part.split()[0] for part in self.columns.split(","))

    @property
    def postgres_types(self) -> dict[str, str]:
        """Column → its PostgreSQL type, for statements that pass a column as one array."""
        found = {}
        for part in self.columns.split(","):
            name, kind = part.split()[:2]
            found[name] = _POSTGRES_TYPES[kind]
        return found

    def column_type(self, column: str, db: Database) -> str:
        """The type `column` is declared with, in `db`'s words."""
        for part in self.columns.split(","):
            name, kind = part.split()[:2]
            if name == column:
                return kind.format(big_int=db.big_int, blob=db.blob)
        raise KeyError(f"{self.name} has no column {column}")

    def create_statement(self, db: Database) -> str:
        columns = self.columns.format(big_int=db.big_int, blob=db.blob)
        return (
            f"CREATE TABLE IF NOT EXISTS {self.name} ({columns}, "
            f"PRIMARY KEY ({', '.join(self.key)}))"
        )

    def index_statements(self) -> list[str]:
        return [f"CREATE INDEX IF NOT EXISTS {index}" for index in self.indexes]

    def ddl(self, db: Database) -> str:
        """The table and its indexes, as one script."""
        statements = [self.create_statement(db), *self.index_statements()]
        return ";\n".join(statements) + ";\n"


def ensure_tables(db: Database, tables: Iterable[Table]) -> None:
    """Makes whatever of `tables` the store lacks: the tables, the columns added since a store
    was made, the indexes. Idempotent; one script when no table has added columns."""
    tables = tuple(tables)
    if not any(table.added for table in tables):
        db.executescript("".join(table.ddl(db) for table in tables))
        return
    db.executescript("".join(table.create_statement(db) + ";\n" for table in tables))
    for table in tables:
        for column in table.added:
            _add_column(db, table.name, column, table.column_type(column, db))
    indexes = [index for table in tables for index in table.index_statements()]
    db.executescript("".join(f"{index};\n" for index in indexes))


# The tables already made in each Database object, for `ensure_tables_once`.
_made: weakref.WeakKeyDictionary[Database, set[str]] = weakref.WeakKeyDictionary()


def ensure_tables_once(db: Database, tables: Iterable[Table]) -> None:
    """`ensure_tables`, run once per Database object: for stores that are opened on every
    request (a proof, a portal page) and need not send DDL each time."""
    tables = tuple(tables)
    names = {table.name for table in tables}
    if names <= _made.get(db, set()):
        return
    ensure_tables(db, tables)
    _made.setdefault(db, set()).update(names)


def _add_column(db: Database, table: str, column: str, kind: str) -> None:
    if db.dialect == "postgresql":
        db.executescript(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}")
        return
    columns = {row[1] for row in db.fetchall(f"PRAGMA table_info({table})")}
    if column not in columns:
        try:
            db.executescript(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except Exception as error:  # another process added it first
            if "duplicate column" not in str(error):
                raise
