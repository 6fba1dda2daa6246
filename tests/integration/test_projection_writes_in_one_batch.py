"""The batch writer every read model writes through (`Writes`): changes held back and merged
within a batch leave exactly the rows the same statements would leave one at a time, on SQLite
and PostgreSQL, whatever mix of insert, upsert and update a batch holds for one key.

The writer keeps the SQL it builds per table and shape for the life of the process; each test
here starts without it, so the statements are built (not taken from an earlier test) here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from projections.read_models import writes as projection
from projections.storage.database import Database, open_database
from projections.read_models.writes import Writes
from projections.storage.tables import Table

ITEMS = Table(
    "test_batch_items",
    "owner TEXT NOT NULL, item TEXT NOT NULL, label TEXT, note TEXT, n INTEGER",
    key=("owner", "item"),  # two columns: the upsert names both in its ON CONFLICT
)
OTHER = Table("test_batch_other", "owner TEXT NOT NULL, label TEXT", key=("owner",))
Change = Callable[[Writes], None]


@pytest.fixture(autouse=True)
def _statements_built_anew() -> Iterator[None]:
    projection._STATEMENTS.clear()
    projection._ARRAY_STATEMENTS.clear()
    yield


@pytest.fixture
def db(durable_database_url: str) -> Iterator[Database]:
    opened = open_database(durable_database_url)
    opened.executescript(ITEMS.ddl(opened) + OTHER.ddl(opened))
    try:
        yield opened
    finally:
        opened.close()


def _in_one_batch(db: Database, *changes: Change) -> None:
    with db.transaction() as cur:
        writes = Writes(cur, db.dialect)
        for change in changes:
            change(writes)
        writes.flush()


def _one_at_a_time(db: Database, *changes: Change) -> None:
    for change in changes:
        _in_one_batch(db, change)


def _rows(db: Database) -> list[tuple[Any, ...]]:
    return db.fetchall(
        "SELECT owner, item, label, note, n FROM test_batch_items ORDER BY owner, item"
    )


def insert(owner: str, item: str, label: str | None, note: str | None, n: int | None) -> Change:
    row = {"owner": owner, "item": item, "label": label, "note": note, "n": n}
    return lambda w: w.insert(ITEMS, row)


def upsert(owner: str, item: str, **values: Any) -> Change:
    return lambda w: w.upsert(ITEMS, {"owner": owner, "item": item, **values})


def update(owner: str, item: str, **values: Any) -> Change:
    return lambda w: w.update(ITEMS, (owner, item), values)


def execute(sql: str, *params: Any) -> Change:
    return lambda w: w.execute(sql, params)


# Committed before the batch: what an upsert or an update of a key meets when the row exists.
EARLIER = (insert("b", "1", "old", "kept", 1), insert("b", "2", "old", "kept", 2))
# One change sequence per key, all in one batch, and the row each must leave.
BATCH = (
    insert("a", "1", "x", "first", 1), update("a", "1", label="y"),
    insert("a", "2", "x", "kept", 1), upsert("a", "2", label="z"),
    upsert("a", "3", label="p", note="q", n=5), upsert("a", "3", label="r", note="s", n=6),
    update("a", "4", label="u", note="v", n=4), insert("a", "4", "w", "inserted", 4),
    update("a", "5", label="u", note="v", n=5), upsert("a", "5", label="w", note="upserted", n=5),
    upsert("a", "6", label="p", note="q", n=1), update("a", "6", n=9),
    upsert("a", "7", label="only"), upsert("a", "7", label="more", note="then", n=7),
    upsert("b", "1", label="new", note="over", n=10),
    upsert("b", "1", label="newer", note="o", n=11),
    upsert("b", "2", label="relabelled"),
    insert("a", "8", "x", "then", 1),
    execute("UPDATE test_batch_items SET n = n + %s WHERE n = %s", 1, 1),
    update("a", "9", label="nothing", note="to", n=0),
)
EXPECTED = [
    ("a", "1", "y", "first", 2),  # (the execute's n + 1 reached it, and a2 and a8)
    ("a", "2", "z", "kept", 2),
    ("a", "3", "r", "s", 6),
    ("a", "4", "w", "inserted", 4),
    ("a", "5", "w", "upserted", 5),
    ("a", "6", "p", "q", 9),
    ("a", "7", "more", "then", 7),
    ("a", "8", "x", "then", 2),
    ("b", "1", "newer", "o", 11),
    ("b", "2", "relabelled", "kept", 2),
]


def test_every_mix_of_changes_to_a_key_in_one_batch_leaves_the_rows_of_one_statement_at_a_time(
    db: Database,
) -> None:
    _one_at_a_time(db, *EARLIER)
    _in_one_batch(db, *BATCH)
    assert _rows(db) == EXPECTED

    db.execute("DELETE FROM test_batch_items")
    _one_at_a_time(db, *EARLIER, *BATCH)
    assert _rows(db) == EXPECTED


def test_a_second_upsert_of_a_committed_row_overwrites_only_the_columns_it_names(
    db: Database,
) -> None:
    _in_one_batch(db, insert("c", "1", "old", "kept", 1))
    _in_one_batch(db, upsert("c", "1", label="new", n=2))
    _in_one_batch(db, upsert("c", "1", label="newer", n=3))
    assert _rows(db) == [("c", "1", "newer", "kept", 3)]


def test_inserting_a_key_twice_in_one_batch_fails_as_it_would_one_at_a_time(db: Database) -> None:
    twice = (insert("d", "1", "x", None, 1), insert("d", "1", "y", None, 2))
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        _in_one_batch(db, *twice)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        _one_at_a_time(db, *twice)


def test_an_upsert_after_an_insert_of_the_key_in_another_table_keeps_both_rows(
    db: Database,
) -> None:
    _in_one_batch(
        db,
        lambda w: w.insert(OTHER, {"owner": "e", "label": "other"}),
        upsert("e", "1", label="item", note=None, n=None),
    )
    assert _rows(db) == [("e", "1", "item", None, None)]
    assert db.fetchall("SELECT owner, label FROM test_batch_other") == [("e", "other")]


def test_a_row_inserted_earlier_in_the_batch_can_be_read_back_before_it_is_sent_nul_and_all(
    db: Database,
) -> None:
    seen: dict[str, Any] = {}

    def read(name: str, table: Table, key: tuple[Any, ...], column: str) -> Change:
        return lambda w: seen.__setitem__(name, w.held_value(table, key, column))

    _in_one_batch(
        db,
        insert("f", "1", "held", "a note", 1),
        read("label", ITEMS, ("f", "1"), "label"),
        read("note", ITEMS, ("f", "1"), "note"),
        read("other key", ITEMS, ("f", "2"), "label"),
        read("other table", OTHER, ("f",), "label"),
        update("f", "1", label="changed"),
        read("after an update", ITEMS, ("f", "1"), "label"),
        update("g", "1", label="maybe no row", note=None, n=None),
        read("only updated", ITEMS, ("g", "1"), "label"),
        insert("f\x00", "1", "behind a NUL", None, None),
        read("key with a NUL", ITEMS, ("f\x00", "1"), "label"),
        lambda w: w.insert(OTHER, {"label": None, "owner": "h\x00"}),  # its only text: a NUL
        execute("UPDATE test_batch_other SET label = 'found' WHERE owner = %s", "h\x00"),
        execute("DELETE FROM test_batch_items WHERE owner = %s", "nobody"),  # sends what is held
        read("sent", ITEMS, ("f", "1"), "label"),
    )
    assert seen == {
        "label": "held", "note": "a note", "other key": None, "other table": None,
        "after an update": "changed", "only updated": None, "key with a NUL": "behind a NUL",
        "sent": None,
    }
    assert ("f\\u0000", "1", "behind a NUL", None, None) in _rows(db)
    assert db.fetchall("SELECT owner, label FROM test_batch_other") == [("h\\u0000", "found")]
