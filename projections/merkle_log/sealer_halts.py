"""The sealer's halt: why it stopped, kept in the store so every process can say so.

A sealer that finds its record inconsistent with the stored leaves (sealed_state.py) stops for
good instead of retrying: retrying the same failure would never end, and sealing on from a wrong
record corrupts the log. The reason is kept here (one row) so that `ledger projections status`
and `/healthz` - often other processes than the sealer's - report it. A sealer that starts and
finds the record consistent again (a person mended it) clears it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables_once

HALT_TABLE = Table(
    "merkle_sealer_halt",
    "id INTEGER CHECK (id = 1), reason TEXT NOT NULL, halted_at {big_int} NOT NULL",
    key=("id",),
)
REASON_LIMIT = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Halt:
    reason: str
    halted_at: datetime

    def describe(self) -> str:
        return f"the sealer halted: {self.reason}"


def _ensure(db: Database) -> None:
    ensure_tables_once(db, (HALT_TABLE,))


def record_halt(db: Database, error: Exception, log: logging.Logger) -> str:
    """Keep (and log, once per halt) why the sealer stops; returns the reason."""
    reason = " ".join(str(error).split())[:REASON_LIMIT]
    log.error("the sealer halts: %s; it seals again once a restart finds it mended", reason)
    _ensure(db)
    now = datetime.now(timezone.utc) - _EPOCH
    db.execute(
        "INSERT INTO merkle_sealer_halt (id, reason, halted_at) VALUES (1, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET reason = excluded.reason, halted_at = excluded.halted_at",
        (reason, now // timedelta(microseconds=1)),
    )
    return reason


def clear_halt(db: Database) -> None:
    _ensure(db)
    db.execute("DELETE FROM merkle_sealer_halt WHERE id = 1")


def sealer_halt(db: Database) -> Halt | None:
    """Why the sealer stopped, or None while it has not."""
    _ensure(db)
    row = db.fetchone("SELECT reason, halted_at FROM merkle_sealer_halt WHERE id = 1")
    if row is None:
        return None
    return Halt(str(row[0]), _EPOCH + timedelta(microseconds=int(row[1])))
