"""Unit tests run the Ledger in memory, with a clock they can move."""

from __future__ import annotations

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock


@pytest.fixture
def ledger(clock: MovableClock) -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


def event_count(ledger: Ledger) -> int:
    """How many events the ledger holds: a failed command must leave it unchanged."""
    return ledger.recorder.max_notification_id() or 0
