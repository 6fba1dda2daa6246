"""A read model made to fail as a bug in its handler would, and mended again: for the tests of
read models that stop alone (projections/read_models/failures.py)."""

from __future__ import annotations

from projections.storage.database import Database


def break_inserts(db: Database, table: str) -> None:
    """Every insert into `table` fails, with the message 'boom'."""
    if db.dialect == "postgresql":
        db.execute(
            "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        db.execute(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION boom()"
        )
    else:
        db.executescript(
            f"CREATE TRIGGER boom BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'boom'); END;"
        )


def mend(db: Database, table: str) -> None:
    postgresql = db.dialect == "postgresql"
    db.execute(f"DROP TRIGGER boom ON {table}" if postgresql else "DROP TRIGGER boom")
