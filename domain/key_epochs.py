"""When key-encryption keys are replaced and destroyed, and when an erasure becomes final.

Time is cut into epochs (`LEDGER_KEY_EPOCH_HOURS`, 24 by default). Each epoch has its own KEK;
closing an epoch wraps every live data key under the next epoch's KEK. A KEK is destroyed
once `kept` newer epochs exist (7 by default: a backup up to a week old can still be restored
and read). A shredded data key was wrapped by every epoch from the one it was made in to the
one it was shredded in, and a copy of the database from any of those epochs holds one of
those wrappings: the erasure is final when all of those KEKs are gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

# Epoch 0 is the master key that wrapped every data key before epochs (LEDGER_MASTER_KEY).
LEGACY_EPOCH = 0


@dataclass(frozen=True)
class EpochPolicy:
    hours: float = 24.0
    kept: int = 7

    def __post_init__(self) -> None:
        if self.hours <= 0:
            raise ValueError("an epoch must last more than 0 hours")
        if self.kept < 1:
            raise ValueError("at least one epoch before the current one must be kept")

    @property
    def length(self) -> timedelta:
        return timedelta(hours=self.hours)

    def due_to_close(self, opened_at: datetime, now: datetime) -> bool:
        return now >= opened_at + self.length

    def to_destroy(self, current: int, held: Iterable[int]) -> list[int]:
        """The held epochs of which `kept` newer ones exist, oldest first."""
        return sorted(epoch for epoch in held if current - epoch >= self.kept)

    def destroyed_by(self, last_epoch: int, current: int, current_opened_at: datetime) -> datetime:
        """When the KEK of `last_epoch` will be destroyed if epochs close on time: at the
        opening of epoch `last_epoch + kept`, never before the next close."""
        closes_ahead = max(1, last_epoch + self.kept - current)
        return current_opened_at + closes_ahead * self.length


def is_final(first_epoch: int | None, last_epoch: int | None, destroyed: set[int]) -> bool:
    """Whether every KEK that ever wrapped a data key made in `first_epoch` and shredded in
    `last_epoch` is destroyed. A fence for an owner that never had a key (no epochs) is."""
    if first_epoch is None or last_epoch is None:
        return True
    return all(epoch in destroyed for epoch in range(first_epoch, last_epoch + 1))
