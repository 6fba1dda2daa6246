"""A ledger opened to read only (a read-only process's) refuses every save before it reaches
the store: nothing is recorded, and what had to be recorded does not happen unrecorded."""

from __future__ import annotations

import pytest

from domain.errors import ReadOnlyLedger
from domain.ledger import Ledger


def test_a_read_only_ledger_refuses_a_write_and_stores_nothing() -> None:
    ledger = Ledger(read_only=True)
    with pytest.raises(ReadOnlyLedger):
        ledger.open_tenant("Acme B.V.", "olga")
    assert not ledger.recorder.max_notification_id()


def test_a_ledger_opened_to_write_still_writes() -> None:
    ledger = Ledger()
    ledger.open_tenant("Acme B.V.", "olga")
    assert ledger.recorder.max_notification_id() == 1
