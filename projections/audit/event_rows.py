"""The stored events as plain rows, for `ledger verify`'s first pass (projections/audit/verify.py).

From eventsourcing's SQLite and PostgreSQL recorders the events table is read directly, over
the recorder's own connection, in the same keyset chunks as `select_notifications`, but
without building a Notification and a UUID object per row only to turn the UUID back into text
for the leaf: that was more than half of the reading. Any other recorder (memory) is read
through `select_notifications`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from operator import itemgetter
from typing import Any

from projections.merkle_log.leaves import fields_leaf_hash, leaf_hashes, uuid_hex_leaf_hashes, uuid_text
from projections.storage.postgres import is_postgres_recorder


def event_batches(recorder: Any, chunk: int = 1000) -> Iterator[Sequence[Any]]:
    """Every stored event in notification-id order, from the very lowest id (a row slipped in
    below the first one counts too), one keyset chunk (a list) at a time."""
    batch = recorder.select_notifications(start=None, limit=chunk)
    while batch:
        yield batch
        if len(batch) < chunk:
            return
        batch = recorder.select_notifications(
            start=batch[-1].id, limit=chunk, inclusive_of_start=False
        )


def iter_events(recorder: Any, chunk: int = 1000) -> Iterator[Any]:
    """The events of `event_batches`, one at a time."""
    for batch in event_batches(recorder, chunk):
        yield from batch


Row = tuple[Any, Any, Any, Any, Any]

# What the first pass sees once the events run out: a row with an id above every leaf's.
NO_MORE_EVENTS: tuple[Row, None] = ((math.inf, None, None, None, None), None)

# SQLite keeps a UUID as 32 lowercase hex digits. (Checking and hyphenating them in SQL, with
# GLOB and substr, cost twice as much as here.)
_UUID_HEX_LENGTH = frozenset({32})
_ORIGINATOR = itemgetter(1)


class EventSource:
    """The events for the first pass: `chunks` of rows in notification-id order, the leaf hash of
    each row (`leaf_hashes` for a chunk; where that gives None, `leaf_hash` of the row), and
    `originator_text`, what str() of the recorder's Notification.originator_id would be."""

    def __init__(self, chunks: Iterator[list[Row]]) -> None:
        self.chunks = chunks

    leaf_hashes = staticmethod(leaf_hashes)

    @staticmethod
    def leaf_hash(row: Row) -> bytes:
        return fields_leaf_hash(*row)

    @staticmethod
    def originator_text(originator_id: Any) -> str:
        return str(originator_id)


class _UuidHexSource(EventSource):
    """SQLite's rows as stored, the originator id a UUID's 32 lowercase hex digits: hyphenated
    only as the leaf is written, not into a new row per event first (a tenth of the pass)."""

    leaf_hashes = staticmethod(uuid_hex_leaf_hashes)
    originator_text = staticmethod(uuid_text)

    @staticmethod
    def leaf_hash(row: Row) -> bytes:
        notification_id, originator_id, version, topic, state = row
        return fields_leaf_hash(notification_id, uuid_text(originator_id), version, topic, state)


def event_source(recorder: Any, chunk: int = 1000) -> EventSource:
    """Every stored event, in notification-id order, one keyset chunk at a time."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder

    if type(recorder) is SQLiteApplicationRecorder:
        if recorder.datastore.originator_id_type == "uuid":
            return _UuidHexSource(_keyset_chunks(_sqlite_reader(recorder, uuid_hex=True), chunk))
        return EventSource(_keyset_chunks(_sqlite_reader(recorder, uuid_hex=False), chunk))
    if is_postgres_recorder(recorder):
        return EventSource(_postgres_chunks(recorder, chunk))
    return EventSource([_as_row(n) for n in batch] for batch in event_batches(recorder, chunk))


def _as_row(notification: Any) -> Row:
    return (
        notification.id, notification.originator_id, notification.originator_version,
        notification.topic, notification.state,
    )


def _keyset_chunks(
    read: Callable[[int | None, int], list[Row]], chunk: int, after: int | None = None
) -> Iterator[list[Row]]:
    """`read(after, limit)` chunk by chunk, as `event_batches` walks select_notifications."""
    rows = read(after, chunk)
    while rows:
        yield rows
        if len(rows) < chunk:
            return
        rows = read(rows[-1][0], chunk)


def _sqlite_reader(recorder: Any, uuid_hex: bool) -> Callable[[int | None, int], list[Row]]:
    """Reads the SQLite recorder's table. With `uuid_hex`, every originator id comes as 32
    lowercase hex digits: one stored in another form is read through the recorder's own
    conversion (normalised, or the recorder's error)."""
    table = recorder.events_table_name

    def read(after: int | None, limit: int) -> list[Row]:
        where, params = ("", (limit,)) if after is None else ("WHERE rowid>? ", (after, limit))
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.sqlite_cursor.row_factory = None  # tuples, not sqlite3.Row
            cursor.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {table} "
                f"{where}ORDER BY rowid LIMIT ?",
                params,
            )
            rows = cursor.fetchall()
        if not uuid_hex or _all_uuid_hex(rows):
            return rows
        convert = recorder.convert_originator_id
        return [(i, convert(o).hex, v, t, s) for i, o, v, t, s in rows]

    return read


def _all_uuid_hex(rows: list[Row]) -> bool:
    """Is every originator id 32 lowercase hex digits? Checked for the chunk at once, joined: if
    each is 32 characters long, bytes.fromhex takes only hex digits and whitespace, and gives
    16 bytes an id only when there is no whitespace; lower() rules out A-F. (A regular
    expression per id cost four times as much.)"""
    ids = list(map(_ORIGINATOR, rows))
    try:
        joined = "".join(ids)
        return (
            set(map(len, ids)) <= _UUID_HEX_LENGTH
            and len(bytes.fromhex(joined)) == 16 * len(ids)
            and joined == joined.lower()
        )
    except (TypeError, ValueError):  # not text, not hex
        return False


def _postgres_chunks(recorder: Any, chunk: int) -> Iterator[list[Row]]:
    """The events pipelined (`_pipelined_chunks`); should the connection fail, the rest a
    chunk a query, each retried as select_notifications is."""
    import psycopg
    from eventsourcing.persistence import InterfaceError, OperationalError

    after = None  # the last id handed out
    if psycopg.Pipeline.is_supported():
        try:
            for rows in _pipelined_chunks(recorder, chunk):
                after = rows[-1][0]
                yield rows
            return
        except (InterfaceError, OperationalError):  # as the recorder's connection raises them
            pass
    yield from _keyset_chunks(_postgres_reader(recorder), chunk, after)


def _pipelined_chunks(recorder: Any, chunk: int) -> Iterator[list[Row]]:
    """Each chunk asked for before the one before it is handed out, so that the server reads
    and sends it while that one is hashed (pipeline mode, one connection held for the pass):
    waiting for each chunk in turn was a fifth of the pass."""
    first, after_id = _postgres_statements(recorder)
    with recorder.datastore.get_connection() as conn, conn.pipeline():
        pending = _ask(conn, first, (chunk,))
        while pending is not None:
            rows = pending.fetchall()
            if not rows:
                return
            more = len(rows) == chunk
            pending = _ask(conn, after_id, (rows[-1][0], chunk)) if more else None
            yield rows


def _ask(conn: Any, statement: Any, params: tuple) -> Any:
    from psycopg.rows import tuple_row

    cursor = conn.cursor(row_factory=tuple_row)
    cursor.execute(statement, params, prepare=True)
    return cursor


def _postgres_statements(recorder: Any) -> tuple[Any, Any]:
    """(the first chunk, the chunk after an id), as select_notifications words them, but with
    the originator id as text: uuid::text is PostgreSQL's canonical form, the same text as
    str() of the UUID psycopg would load (and a text column's value as it is)."""
    from psycopg.sql import SQL, Identifier

    select = SQL(
        "SELECT notification_id, originator_id::text, originator_version, topic, state "
        "FROM {schema}.{table} "
    ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))
    return (
        select + SQL("ORDER BY notification_id LIMIT %s"),
        select + SQL("WHERE notification_id>%s ORDER BY notification_id LIMIT %s"),
    )


def _postgres_reader(recorder: Any) -> Callable[[int | None, int], list[Row]]:
    from eventsourcing.persistence import InterfaceError, OperationalError
    from eventsourcing.utils import retry
    from psycopg.rows import tuple_row

    first, after_id = _postgres_statements(recorder)

    # Retried as the recorder's select_notifications is.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def read(after: int | None, limit: int) -> list[Row]:
        statement, params = (first, (limit,)) if after is None else (after_id, (after, limit))
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return curs.fetchall()

    return read
