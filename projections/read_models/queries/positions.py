"""Read-your-writes: how far the read models have come, and waiting for them to reach a write.

A read model that is stopped (projections/read_models/failures.py) is left out, so a reader of
the healthy ones is not held back by one that cannot move.
"""

from __future__ import annotations

from projections.read_models import failures
from projections.read_models.all_read_models import READ_MODEL_NAMES
from projections.read_models.queries.base import Queries
from projections.storage.follower import Progress


class PositionQueries(Queries):
    def positions(self) -> dict[str, int]:
        """The position of each read model that is not stopped."""
        return failures.active(*failures.tracking(self.db, READ_MODEL_NAMES))

    def position(self) -> int:
        """How far every read model that is not stopped has come (all of them when none is)."""
        return failures.lowest(*failures.tracking(self.db, READ_MODEL_NAMES))

    def wait_for(self, position: int, timeout: float) -> bool:
        """True once every read model that is not stopped has reached `position`; False after
        `timeout` seconds. The runner of this process wakes its waiters on each commit; without
        one, the store is read again every `WAIT_SLICE` (projections/storage/follower.py)."""
        if self.runner is not None:
            return bool(self.runner.wait_for(position, timeout))
        return Progress().wait_for(position, timeout, self.position)
