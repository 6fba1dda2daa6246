"""Which erasures are final: every key-encryption key that ever wrapped the data key is gone.

The rule is `domain.key_epochs.is_final`; this reads the key store's rows for it. An erasure
not final yet is *pending*, with the date it will be final if epochs close on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.key_epochs import is_final
from projections.storage.key_store import stamp


@dataclass(frozen=True)
class FinalErasure:
    owner_id: UUID
    tenant_id: UUID | None
    at: datetime
    last_epoch: int


@dataclass(frozen=True)
class PendingErasure:
    owner_id: UUID
    tenant_id: UUID | None
    shredded_at: str
    first_epoch: int
    last_epoch: int
    final_by: datetime  # if epochs close on time


class ErasureFinality:
    """What `KeyEpochs` tells about erasures (projections.storage.key_epochs)."""

    # Finality
    def newly_final(self) -> list[FinalErasure]:
        """Shredded keys whose every KEK is now destroyed and whose finality is not yet marked."""
        destroyed = {
            epoch: datetime.fromisoformat(at) for epoch, _, _, at in self.epochs() if at
        }
        final = []
        for owner, tenant, first, last in self._awaiting_final():
            if first is not None and is_final(first, last, set(destroyed)):
                at = max(destroyed[e] for e in range(first, last + 1))
                final.append(FinalErasure(UUID(owner), tenant and UUID(tenant), at, last))
        return final

    def mark_final(self, erasure: FinalErasure) -> None:
        self.db.execute(
            "UPDATE data_keys SET final_at = %s WHERE owner_id = %s AND final_at IS NULL",
            (stamp(erasure.at), str(erasure.owner_id)),
        )

    def pending(self) -> list[PendingErasure]:
        """Erasures that a copy of the store made before them could still undo."""
        epochs = self.epochs()
        if not epochs:
            return []
        current, opened = epochs[-1][0], datetime.fromisoformat(epochs[-1][1])
        return [
            PendingErasure(
                UUID(owner), tenant and UUID(tenant), shredded, first, last,
                self.policy.destroyed_by(last, current, opened),
            )
            for owner, tenant, first, last, shredded in self._awaiting_final(with_time=True)
            if first is not None
        ]

    def _awaiting_final(self, with_time: bool = False) -> list[Any]:
        extra = ", shredded_at" if with_time else ""
        return self.db.fetchall(
            f"SELECT owner_id, tenant_id, first_epoch, epoch{extra} FROM data_keys "
            "WHERE final_at IS NULL AND shredded_at IS NOT NULL ORDER BY shredded_at"
        )
