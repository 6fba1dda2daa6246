"""Reading the event store's own table with the read models' connections, where both live in
one database: one indexed statement, without the eventsourcing library's pool and transaction
around it (a quarter of a consent write's time went to that for one small read, and on
PostgreSQL it took more than one round trip). The consent check's freshness and the tenant's
standing before every consent write read it this way; a store the read models cannot see
(memory) reads through the library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from projections.storage.database import Database

# (the events table's name, the aggregate id as that table keeps it)
EventsTable = tuple[str, Callable[[str], Any], str]


def events_table(recorder: Any, db: Database) -> EventsTable | None:
    """The recorder's events table as `db` can query it: (name, id as stored, how a
    parameter is written); None when it is in another database."""
    module = type(recorder).__module__
    table = getattr(recorder, "events_table_name", None)
    if table is None:
        return None
    if module == "eventsourcing.sqlite" and db.dialect == "sqlite":
        return table, lambda sid: UUID(sid).hex, "%s"
    if module == "eventsourcing.postgres" and db.dialect == "postgresql":
        return table, str, "%s::uuid"
    return None


def last_topics_reader(
    recorder: Any, db: Database
) -> Callable[[UUID, int, int | None], list[tuple[int, str]]] | None:
    """An aggregate's last (version, topic) pairs, newest first, at most `at_most` when given:
    for `Ledger.read_last_topics_with`. None when `db` cannot see the recorder's table."""
    found = events_table(recorder, db)
    if found is None:
        return None
    table, as_stored, placeholder = found
    columns = f"SELECT originator_version, topic FROM {table} WHERE originator_id = {placeholder}"

    def last_topics(aggregate_id: UUID, limit: int, at_most: int | None) -> list[tuple[int, str]]:
        stored = as_stored(str(aggregate_id))
        if at_most is None:
            rows = db.fetchall(f"{columns} ORDER BY originator_version DESC LIMIT %s",
                               (stored, limit))
        else:
            rows = db.fetchall(
                f"{columns} AND originator_version <= %s ORDER BY originator_version DESC "
                "LIMIT %s", (stored, at_most, limit))
        return [(int(version), str(topic)) for version, topic in rows]

    return last_topics
