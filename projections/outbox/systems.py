"""The vendor's registered systems that hold personal data (domain/propagation.py): what concerns
each, where its webhook is, and which caller (the `sub` of its system token) may confirm for it.

A system is registered by an officer and retired, never deleted: a request's propagation names
the systems it waited for, and they must still be found by their id afterwards. A retired system
hears nothing new (its subscription is disabled) and confirms nothing. One active system per
actor, so a confirmation names exactly one system.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from domain.errors import StateConflict
from domain.propagation import DownstreamSystem
from projections.read_models.queries.paging import (
    DEFAULT_LIMIT,
    check_limit,
    decode_cursor,
    encode_cursor,
)
from projections.read_models.tables import micros, moment
from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables_once

ACTIVE, RETIRED = "active", "retired"

DOWNSTREAM_SYSTEMS = Table(
    "downstream_systems",
    "id TEXT, name TEXT NOT NULL, url TEXT NOT NULL, actor TEXT NOT NULL, "
    "purposes TEXT NOT NULL, kinds TEXT NOT NULL, subscription_id TEXT, status TEXT NOT NULL, "
    "created_at {big_int} NOT NULL, created_by TEXT NOT NULL, retired_at {big_int}",
    key=("id",),
    indexes=("downstream_systems_by_actor ON downstream_systems (actor, status)",),
)
# At most one active system per actor, however many officers register at once.
_ONE_ACTIVE_PER_ACTOR = (
    "CREATE UNIQUE INDEX IF NOT EXISTS downstream_systems_active_actor "
    "ON downstream_systems (actor) WHERE status = 'active'"
)
_COLUMNS = (
    "id, name, url, actor, purposes, kinds, subscription_id, status, created_at, created_by, "
    "retired_at"
)


@dataclass(frozen=True)
class RegisteredSystem:
    system: DownstreamSystem
    actor: str  # the `sub` of the system token that confirms for it
    url: str
    subscription_id: UUID | None
    status: str  # active | retired
    created_at: datetime
    created_by: str
    retired_at: datetime | None

    @property
    def id(self) -> UUID:
        return self.system.id

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


class ActorTaken(StateConflict):
    def __init__(self, actor: str, system: RegisteredSystem) -> None:
        super().__init__(
            f"{actor} already confirms for the system {system.system.name} ({system.id}); "
            "retire it first, or give this system an actor of its own"
        )


class SystemStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._indexed = False

    def _tables(self) -> None:
        ensure_tables_once(self.db, (DOWNSTREAM_SYSTEMS,))
        if not self._indexed:
            self.db.executescript(_ONE_ACTIVE_PER_ACTOR)
            self._indexed = True

    def register(
        self, *, name: str, url: str, actor: str, purposes: Iterable[str], kinds: Iterable[str],
        subscription_id: UUID | None, created_by: str, now: datetime,
        system_id: UUID | None = None,
    ) -> RegisteredSystem:
        """`system_id`: when the caller made the id first (its webhook subscription names
        it). The domain checks the description (InvalidInput naming the field)."""
        system = DownstreamSystem.define(system_id or uuid4(), name, purposes, kinds)
        self._tables()
        taken = self.by_actor(actor)
        if taken is not None:
            raise ActorTaken(actor, taken)
        try:
            self.db.execute(
                f"INSERT INTO {DOWNSTREAM_SYSTEMS.name} ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)",
                (str(system.id), system.name, url, actor, " ".join(sorted(system.purposes)),
                 " ".join(sorted(system.kinds)), _text(subscription_id), ACTIVE, micros(now),
                 created_by),
            )
        except Exception:
            taken = self.by_actor(actor)  # another officer registered one for it just now
            if taken is not None:
                raise ActorTaken(actor, taken) from None
            raise
        made = self.get(system.id)
        assert made is not None
        return made

    def get(self, system_id: UUID) -> RegisteredSystem | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM {DOWNSTREAM_SYSTEMS.name} WHERE id = %s", (str(system_id),)
        )
        return _registered(row) if row else None

    def all(self, include_retired: bool = False) -> list[RegisteredSystem]:
        """The active systems (those to be told), in the order they were registered; with
        `include_retired`, the retired ones too."""
        self._tables()
        where, params = ("", ()) if include_retired else ("WHERE status = %s", (ACTIVE,))
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM {DOWNSTREAM_SYSTEMS.name} {where} "
            "ORDER BY created_at, id", params,
        )
        return [_registered(row) for row in rows]

    def to_be_told(self) -> list[DownstreamSystem]:
        """The active systems as the domain knows them: what a verified request is propagated
        to (domain/propagation.py)."""
        return [registered.system for registered in self.all()]

    def page(
        self, after: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> tuple[list[RegisteredSystem], str | None]:
        """Every system, retired ones too, in the order registered: a page after the cursor
        `after`, and the cursor of the next page (None on the last)."""
        self._tables()
        limit = check_limit(limit)
        key = decode_cursor(after, int, str)
        where, params = "", ()
        if key is not None:
            where = "WHERE created_at > %s OR (created_at = %s AND id > %s)"
            params = (key[0], key[0], key[1])
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM {DOWNSTREAM_SYSTEMS.name} {where} "
            "ORDER BY created_at, id LIMIT %s", (*params, limit + 1),
        )
        found = [_registered(row) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return found, None if last is None else encode_cursor(int(last[8]), last[0])

    def by_actor(self, actor: str) -> RegisteredSystem | None:
        """The active system this caller confirms for, if any."""
        self._tables()
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM {DOWNSTREAM_SYSTEMS.name} WHERE actor = %s AND status = %s",
            (actor, ACTIVE),
        )
        return _registered(row) if row else None

    def retire(self, system_id: UUID, now: datetime | None = None) -> RegisteredSystem | None:
        """None when there is no such system; a retired one stays as it was."""
        self._tables()
        self.db.execute(
            f"UPDATE {DOWNSTREAM_SYSTEMS.name} SET status = %s, retired_at = %s "
            "WHERE id = %s AND status = %s",
            (RETIRED, micros(now) if now is not None else None, str(system_id), ACTIVE),
        )
        return self.get(system_id)


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _registered(row: tuple) -> RegisteredSystem:
    return RegisteredSystem(
        system=DownstreamSystem(
            id=UUID(row[0]), name=row[1], purposes=frozenset(row[4].split()),
            kinds=frozenset(row[5].split()),
        ),
        actor=row[3], url=row[2], subscription_id=UUID(row[6]) if row[6] else None,
        status=row[7], created_at=moment(row[8]), created_by=row[9],
        retired_at=moment(row[10]),
    )
