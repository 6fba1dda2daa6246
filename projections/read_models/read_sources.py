"""Where a process answers its reads from: its own store, or read replicas of it.

Without replicas every read is answered from the process's own store (the primary), as
before. With replicas (LEDGER_READ_DATABASE_URL) the read models and the Merkle tables are read
from the first replica that may be read now (projections/storage/read_replicas.py), taking
turns between them; when none may, the fallback decides (LEDGER_READ_FALLBACK): `primary`
reads from the process's own store, `unavailable` answers that nothing can be read now.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from projections.read_models.queries.answers import ReadModels
from projections.storage.database import Database
from projections.storage.read_replicas import Replica

PRIMARY, UNAVAILABLE = "primary", "unavailable"


@dataclass(frozen=True)
class ReadSource:
    """One store the read side can answer from: its read models and its database (the Merkle
    tables), and the replica it is, if it is one."""

    name: str
    read: ReadModels
    db: Database
    replica: Replica | None = None

    def readable(self) -> bool:
        return self.replica is None or self.replica.readable()


class ReadSources:
    def __init__(
        self, own: ReadSource | None, replicas: list[ReadSource], fallback: str = PRIMARY,
        last_position: Callable[[], int] | None = None,
    ) -> None:
        """`own`: the process's own store (None: a read-only process that may read only its
        replicas). `last_position`: the last stored event's position, where it can be known
        (a replica may not have received it yet: a position beyond its last is awaited)."""
        self.own = own
        self.replicas = replicas
        self.fallback = fallback
        self.last_position = last_position
        self._turn = itertools.count()

    def choose(self) -> ReadSource | None:
        """The source to answer a read from now; None when there is none (answer 503)."""
        if self.replicas:
            start = next(self._turn)
            for step in range(len(self.replicas)):
                source = self.replicas[(start + step) % len(self.replicas)]
                if source.readable():
                    return source
            return self.fallback_for(self.replicas[0])
        return self.own

    def fallback_for(self, source: ReadSource) -> ReadSource | None:
        """Where to read when `source`, a replica, cannot answer (down, behind, or not yet at
        a position asked for): the process's own store if the fallback is `primary`."""
        if source.replica is None or self.fallback != PRIMARY:
            return None
        return self.own

    def states(self) -> list[dict[str, Any]]:
        """Each replica's name, whether it is read now and why: for health and metrics."""
        return [
            {"name": s.name, "readable": state.readable, "why": state.why}
            for s in self.replicas if s.replica is not None
            for state in (s.replica.state(),)
        ]

    def databases(self) -> list[Database]:
        """Every database reads are answered from, each once."""
        found: dict[int, Database] = {}
        for source in (self.own, *self.replicas):
            if source is not None:
                found.setdefault(id(source.read.db), source.read.db)
        return list(found.values())

    def close(self) -> None:
        for source in self.replicas:
            source.db.close()
