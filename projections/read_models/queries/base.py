"""What the queries of every area stand on: `Queries`, which holds the database, the column
sealer and the clock; and the checks of the arguments the areas share.

Each area of the read side (tenants, subjects, consent checks, staff access, subjects'
requests, incidents, what is due, how far the read models have come) has its queries in a
module of this folder, as a subclass of `Queries` that adds only that area's methods.
`ReadModels` (answers.py) is all of them in one class, so the API keeps one object to ask.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.clock import Clock, SystemClock
from domain.errors import InvalidInput
from domain.ledger.keys import KeyStore
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import create_tables, micros
from projections.storage.database import Database


class Queries:
    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        lookup_key: bytes,
        *,
        ledger: Any = None,
        clock: Clock | None = None,
        runner: Any = None,
    ) -> None:
        """`ledger` is needed only for `subject_profile_as_of` and a consent check that the
        tables cannot answer yet; `clock` decides what is overdue now; `runner` (an
        in-process ProjectionRunner) lets `wait_for` wake on its commits."""
        self.db = db
        self.sealer = ColumnSealer(keys)
        self.lookup_key = lookup_key
        self.ledger = ledger
        self.clock: Clock = clock or SystemClock()
        self.runner = runner
        create_tables(db)


def filters(*pairs: tuple[str, Any]) -> tuple[list[str], list[Any]]:
    """`column = value` for each pair whose value is given, and the values as text."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in pairs:
        if value is not None:
            where.append(f"{column} = %s")
            params.append(str(value))
    return where, params


def checked_micros(value: datetime, field: str) -> int:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field, f"{field} must be a time with a time zone")
    result = micros(value)
    assert result is not None
    return result


def checked_uuid(value: UUID | str, field: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(field, f"{field} is not a valid id") from None
