"""A commit whose answer was lost: PostgreSQL stored the events, but the connection ended before
the server said so (it crashed, or was stopped `-m immediate`, at that very moment).

The eventsourcing library retries an insert that failed on a connection error, and its retry
then meets the events its first try stored: a unique violation on (originator id, version). Left
alone, the ledger answered that with a 500 for a write that is in the log (and the released
Idempotency-Key let the client's retry register the person a second time). So when the
recorder's insert fails on a conflict, it looks whether the conflicting rows are its own events,
byte for byte (same topic, same state: each state carries its event's timestamp, to the
microsecond), and if all of them are, answers with their notification ids as the insert would
have. A real conflict (another writer's event at that version) is still an IntegrityError.

SQLite commits inside the process: its answer cannot be lost on the way, so it is left as is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError

from projections.storage.postgres import is_postgres_recorder

log = logging.getLogger("ledger.events")


def recognise_own_commits(recorder: Any) -> None:
    """Wraps the PostgreSQL application recorder's `insert_events` (with the library's retry
    inside it) on this one recorder object; any other recorder is left as it is."""
    if not is_postgres_recorder(recorder):
        return
    insert = recorder.insert_events

    def insert_events(stored_events: Sequence[Any], **kwargs: Any) -> Sequence[int] | None:
        try:
            return insert(stored_events, **kwargs)
        except IntegrityError:
            ids = _ids_if_already_stored(recorder, stored_events)
            if ids is None:
                raise
            log.warning("a commit whose answer was lost had stored %d event(s); "
                        "answering with their positions", len(ids))
            return ids

    recorder.insert_events = insert_events


def _ids_if_already_stored(recorder: Any, stored_events: Sequence[Any]) -> list[int] | None:
    """The notification ids of exactly these events if every one is stored as given, else None."""
    from psycopg.rows import tuple_row
    from psycopg.sql import SQL, Identifier

    statement = SQL(
        "SELECT originator_id::text, originator_version, topic, state, notification_id "
        # The primary key's index, and only these versions: an aggregate may have thousands.
        "FROM {schema}.{table} WHERE originator_id = ANY(%s) AND originator_version = ANY(%s)"
    ).format(schema=Identifier(recorder.datastore.schema),
             table=Identifier(recorder.events_table_name))
    ids = list({event.originator_id for event in stored_events})  # UUIDs: a uuid[] parameter
    versions = list({event.originator_version for event in stored_events})
    with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
        curs.execute(statement, (ids, versions))
        stored = {(row[0], row[1]): (row[2], bytes(row[3]), row[4]) for row in curs.fetchall()}
    found = []
    for event in stored_events:
        row = stored.get((str(event.originator_id), event.originator_version))
        if row is None or row[:2] != (event.topic, bytes(event.state)):
            return None
        found.append(row[2])
    return found
