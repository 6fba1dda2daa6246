"""Which failures of a database call pass by themselves (an outage) and which say something is
wrong with what was asked (a failure).

The runner retries a batch that met an outage, as it always did; a batch that met a failure is
sorted out read model by read model (projections/read_models/failures.py), and the read model
that cannot apply an event stops alone. A connection that went away is an outage by the one
rule every follower of the log uses (`database_unreachable`, projections/storage/follower.py).
"""

from __future__ import annotations

import sqlite3

from projections.storage.follower import database_unreachable

# SQLite's OperationalError of a file that cannot be written now, rather than of a statement.
_SQLITE_BUSY = (
    "database is locked", "database is busy", "database or disk is full", "disk I/O error",
    "unable to open database file",
)
# SQLSTATE classes of a server that cannot answer now: connection exception, insufficient
# resources, operator intervention (shutdown, restart), system error, transaction rollback
# (deadlock, serialization failure), lock not available.
_PASSING_STATES = ("08", "53", "57", "58", "40", "55P03")


def passing(error: BaseException) -> bool:
    """A failure that says nothing about the read models, so the whole batch is tried again
    later, as it always was: the database unreachable (a restart, a failover), busy, out of
    resources, or asking for a retry (deadlock, serialization failure). psycopg files some
    failures of a statement itself under OperationalError too (an index row too large:
    SQLSTATE class 54), and SQLite's OperationalError also means "no such table": those do not
    pass by themselves, so they stop the read model instead."""
    import psycopg

    if isinstance(error, sqlite3.OperationalError):
        return str(error).startswith(_SQLITE_BUSY)
    if isinstance(error, psycopg.errors.PipelineAborted):
        return False  # a statement before it failed: that one is the news
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state.startswith(_PASSING_STATES)
    return database_unreachable(error)
