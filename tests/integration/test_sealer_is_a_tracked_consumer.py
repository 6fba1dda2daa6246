"""The sealer is a tracked consumer of the log like the projection runner
(projections/storage/follower.py): its position is its own record (`merkle_state`, saved with
its leaves), and a reader can wait for it to reach a position, woken at once by this process's
seal and reading the store meanwhile, so another process's seal is seen too."""

from __future__ import annotations

import threading
import time

from api import keyfiles
from api.bootstrap import Stores
from api.settings import Settings
from projections.merkle_log.sealer import Sealer


def _sealer(stores: Stores, settings: Settings) -> Sealer:
    return Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings))


def _write(stores: Stores) -> int:
    return stores.ledger.open_tenant("Acme", "officer-1").position


def test_a_sealers_position_is_the_last_event_it_sealed_as_its_record_says(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = _sealer(durable_stores, durable_settings)
    assert sealer.position() == 0
    first = _write(durable_stores)
    assert sealer.position() == 0, "written, not sealed"

    sealer.seal_pending()
    second = _write(durable_stores)

    assert sealer.position() == first < second
    assert _sealer(durable_stores, durable_settings).position() == first, "read from the store"
    sealer.stop()


def test_a_reader_waits_for_the_sealer_to_reach_a_position_and_no_longer_than_told(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = _sealer(durable_stores, durable_settings)
    position = _write(durable_stores)
    started = time.monotonic()
    assert not sealer.wait_for(position, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 5

    later = threading.Timer(0.2, sealer.seal_pending)
    later.start()
    try:
        assert sealer.wait_for(position, timeout=10)
    finally:
        later.join()
    assert sealer.wait_for(position, timeout=0)
    sealer.stop()


def test_a_reader_sees_what_another_sealer_sealed(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    reader, writer = _sealer(durable_stores, durable_settings), _sealer(durable_stores, durable_settings)
    position = _write(durable_stores)
    writer.seal_pending()
    writer.stop()

    assert reader.wait_for(position, timeout=0)
    assert not reader.wait_for(position + 1, timeout=0)
