"""Read models that change shape: each projection declares the `version` of its tables, and a
store that holds another version of them has them dropped, made anew and rebuilt from the events.

Why: `CREATE TABLE IF NOT EXISTS` keeps an existing deployment's table as it was, so a column
added or a primary key changed in `projections/read_models/tables.py` would never reach it.
Bumping the projection's `version` says "these tables changed": at the next start the runner (through
`create_tables`) drops them, creates them with their new definition, sets the read model's
position to 0 and stores the new version, in one transaction; the runner then replays every
event into them, as `ledger projections rebuild` would. A store without a stored version (made
before versions were kept) counts as version 1, the default.

Why it is safe when several processes start at once: on PostgreSQL the upgrade holds the same
transaction-scoped advisory lock as the DDL of `create_tables` and reads the stored versions
again once it holds it, so the first process upgrades and the others find nothing to do
(SQLite's `BEGIN IMMEDIATE` serialises them the same way). It sets the read model's position
with an upsert, which waits for the tracking row a runner's batch may hold (`FOR UPDATE`):
a batch in flight commits first, and a runner that then reads a position gone back to 0
starts again from there, as after a rebuild.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from projections.read_models.tables import FAILURES_TABLE, TRACKING_TABLE, VERSIONS_TABLE
from projections.storage import advisory_locks
from projections.storage.database import Cursor, Database

log = logging.getLogger("ledger.projections")

UNVERSIONED = 1  # what a store made before versions were kept holds


def upgrade(db: Database, projections: Sequence[Any]) -> list[str]:
    """Drop, recreate and set back to position 0 every given read model whose stored version
    differs from its declared one; store the new versions. Returns the names it rebuilt."""
    stored = dict(db.fetchall(f"SELECT name, version FROM {VERSIONS_TABLE}"))
    if not _changed(stored, projections):
        return []  # the usual start: one read, no lock
    with db.transaction() as cur:
        if db.dialect == "postgresql":
            advisory_locks.take(cur, advisory_locks.DDL_LOCK, transaction=True)
        cur.execute(f"SELECT name, version FROM {VERSIONS_TABLE}")
        changed = _changed(dict(cur.fetchall()), projections)  # another process may have
        cur.execute(f"SELECT name FROM {TRACKING_TABLE}")
        built = {name for (name,) in cur.fetchall()}
        for projection in changed:
            _recreate(cur, db, projection)
    for projection in changed:
        if projection.name in built:  # not on a new store, where there was nothing to rebuild
            log.warning(
                "read model %s changed shape (version %s): its tables were made anew and it "
                "is rebuilt from the events", projection.name, projection.version,
            )
    return [projection.name for projection in changed]


def _changed(stored: dict[str, int], projections: Sequence[Any]) -> list[Any]:
    return [
        projection for projection in projections
        if int(stored.get(projection.name, UNVERSIONED)) != projection.version
    ]


def _recreate(cur: Cursor, db: Database, projection: Any) -> None:
    # The tracking row first: it waits for a batch in flight, which holds it until it commits.
    cur.execute(
        f"INSERT INTO {TRACKING_TABLE} (name, position) VALUES (%s, 0) "
        "ON CONFLICT (name) DO UPDATE SET position = 0",
        (projection.name,),
    )
    for table in projection.tables:
        cur.execute(f"DROP TABLE IF EXISTS {table.name}")
        for statement in table.ddl(db).split(";"):
            if statement.strip():
                cur.execute(statement)
    # A read model stopped by an event is retried from the start, like after a rebuild.
    cur.execute(f"DELETE FROM {FAILURES_TABLE} WHERE name = %s", (projection.name,))
    cur.execute(
        f"INSERT INTO {VERSIONS_TABLE} (name, version) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
        (projection.name, projection.version),
    )
