"""What every read model's projection is: a name to track, its tables, and one handler per event.

The runner calls the handlers inside the batch transaction that also moves the projection's
tracking position, so the rows and the position commit together. Handlers are plain SQL on the
cursor they are given; they never commit, never read the clock and never call out, so replaying
the same events always gives the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.utils import get_topic

from projections.database import Cursor
from projections.tables import Table

Handler = Callable[[Cursor, Any, int], None]


class Projection:
    name: str = ""
    tables: tuple[Table, ...] = ()

    def handlers(self) -> dict[type, Handler]:
        """Event class → handler(cursor, event, position)."""
        raise NotImplementedError

    def topics(self) -> dict[str, Handler]:
        return {get_topic(kind): handler for kind, handler in self.handlers().items()}
