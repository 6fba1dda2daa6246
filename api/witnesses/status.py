"""What each witness last answered this ledger (`witness_status`), for officers and auditors.

One row per witness name, written by the submitter after every attempt: the largest size it
cosigned here, the size it said it last cosigned (from a 200 or a 409; the old size of the
next request), when it was last asked and what came of it:

    cosigned      it cosigned the latest checkpoint, and the cosignature holds
    refused       it answered with a refusal (the status is kept: 409 stale size, 422 bad
                  proof, ...), or with a cosignature that does not hold
    inconsistent  it has seen more leaves than this log has: no proof can exist, not asked
    unreachable   no answer (refused connection, timeout)
    failed        this ledger could not build the request (its stored tree is damaged)
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables_once

WITNESS_STATUS = Table(
    "witness_status",
    "witness TEXT NOT NULL, last_cosigned_size {big_int}, witness_size {big_int}, "
    "last_attempt_at TEXT NOT NULL, last_outcome TEXT NOT NULL, last_status INTEGER, "
    "detail TEXT NOT NULL",
    key=("witness",),
)
_COLUMNS = "witness, last_cosigned_size, witness_size, last_attempt_at, last_outcome, last_status, detail"


@dataclass(frozen=True)
class WitnessStatus:
    witness: str
    last_cosigned_size: int | None
    witness_size: int | None
    last_attempt_at: str
    last_outcome: str
    last_status: int | None
    detail: str


def _status(row: tuple) -> WitnessStatus:
    def number(value: object) -> int | None:
        return None if value is None else int(value)  # type: ignore[call-overload]

    return WitnessStatus(str(row[0]), number(row[1]), number(row[2]), str(row[3]), str(row[4]),
                         number(row[5]), str(row[6]))


def read_status(db: Database, witness: str) -> WitnessStatus | None:
    ensure_tables_once(db, (WITNESS_STATUS,))
    row = db.fetchone(f"SELECT {_COLUMNS} FROM witness_status WHERE witness = %s", (witness,))
    return _status(row) if row else None


def all_statuses(db: Database) -> dict[str, WitnessStatus]:
    ensure_tables_once(db, (WITNESS_STATUS,))
    return {s.witness: s for s in map(_status, db.fetchall(f"SELECT {_COLUMNS} FROM witness_status"))}


def record_attempt(
    db: Database, witness: str, outcome: str, at: str, *, status: int | None = None,
    witness_size: int | None = None, cosigned_size: int | None = None, detail: str = "",
) -> WitnessStatus:
    """Keeps one attempt's outcome. The largest cosigned size only grows; the witness's size
    is kept when this attempt did not learn it."""
    before = read_status(db, witness)
    largest = max(s for s in (cosigned_size, before and before.last_cosigned_size, -1) if s is not None)
    now = WitnessStatus(
        witness, None if largest < 0 else largest,
        witness_size if witness_size is not None else (before.witness_size if before else None),
        at, outcome, status, detail,
    )
    db.execute(
        f"INSERT INTO witness_status ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (witness) DO UPDATE SET last_cosigned_size = excluded.last_cosigned_size, "
        "witness_size = excluded.witness_size, last_attempt_at = excluded.last_attempt_at, "
        "last_outcome = excluded.last_outcome, last_status = excluded.last_status, "
        "detail = excluded.detail",
        (now.witness, now.last_cosigned_size, now.witness_size, now.last_attempt_at,
         now.last_outcome, now.last_status, now.detail),
    )
    return now
