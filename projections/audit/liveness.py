"""`ledger verify`: nothing may wait longer than LEDGER_CHECKPOINT_DELAY_SECONDS to be sealed and signed.

The events carry no commit time `verify` can trust, so it asks the sealer's own record: the
latest checkpoint's signed time. A sealer that signed less than the delay ago was sealing then,
so whatever it has not reached yet came after (the tree grows in id order) and is younger than
the delay. Otherwise `verify` watches for up to the delay: what is still unsealed (or sealed
but in no checkpoint) at its end was there for longer than the delay. So a working sealer
never fails this check, and a stopped or halted one, a deleted latest checkpoint, or an event
slipped in where the sealer will not look, always does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from projections.audit.report import MISSING, OVERDUE, Problem
from projections.merkle_log.checkpoints import Checkpoint
from projections.merkle_log.sealer_halts import sealer_halt
from projections.merkle_log.store import latest_checkpoint
from projections.storage.database import Database

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Pending:
    """What the pass found not yet sealed or signed."""

    sealed: int  # leaves stored
    signed: int  # the size of the latest checkpoint (0: none)
    first_unsealed: int | None  # ids of the first and last event after the last leaf
    last_unsealed: int | None
    unsealed: int


def _signed_at(checkpoint: Checkpoint | None) -> datetime | None:
    if checkpoint is None:
        return None
    try:
        return datetime.strptime(checkpoint.timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=timezone.utc
        )
    except (TypeError, ValueError):
        return None  # a garbled time fails its signature; it vouches for nothing here


def overdue(
    db: Database, pending: Pending, latest: Checkpoint | None, delay: float,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> list[Problem]:
    """The problems of what is still unsealed or unsigned after `delay` seconds (waiting at
    most that long, and only when the latest checkpoint is older than that)."""
    if pending.sealed <= pending.signed and pending.last_unsealed is None:
        return []
    signed_at = _signed_at(latest)
    if signed_at is not None and (now() - signed_at).total_seconds() <= delay:
        return []
    deadline = time.monotonic() + delay
    while True:
        signed, sealed = _caught_up(db, pending)
        if signed and sealed:
            return []
        if time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    halt = sealer_halt(db)
    why = f" ({halt.describe()})" if halt else ""
    problems = []
    if not signed:
        problems.append(Problem(
            MISSING, pending.signed, None,
            f"positions {pending.signed}..{pending.sealed - 1} are sealed but no checkpoint covering "
            f"them was signed for {delay:g}s (LEDGER_CHECKPOINT_DELAY_SECONDS): the latest "
            f"checkpoint was deleted, or the sealer stopped{why}",
            where=f"merkle_checkpoints after tree size {pending.signed}",
        ))
    if not sealed:
        assert pending.first_unsealed is not None
        problems.append(Problem(
            OVERDUE, pending.sealed, pending.first_unsealed,
            f"{pending.unsealed} stored events (ids {pending.first_unsealed}.."
            f"{pending.last_unsealed}) were still not sealed after {delay:g}s "
            f"(LEDGER_CHECKPOINT_DELAY_SECONDS): the sealer is stopped or halted{why}",
            where=f"event id {pending.first_unsealed} (unsealed: it would be position "
                  f"{pending.sealed})",
        ))
    return problems


def _caught_up(db: Database, pending: Pending) -> tuple[bool, bool]:
    """(signed: a checkpoint covers every leaf the pass read, sealed: the last unsealed event
    the pass read has its leaf now)."""
    latest = latest_checkpoint(db)
    signed = pending.sealed <= (latest.tree_size if latest else 0)
    sealed = pending.last_unsealed is None or db.fetchone(
        "SELECT 1 FROM merkle_leaves WHERE notification_id = %s", (pending.last_unsealed,)
    ) is not None
    return signed, sealed
