"""Key epochs close on their own when their time is up, one process at a time, and a tenant's
purge becomes final the way an erasure does."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from uuid import UUID

import pytest

from api.services.key_epochs import close_epoch, close_epoch_if_due
from api.services.sweep import start_sweeper, sweep
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.tenant import Tenant
from projections.read_models import rebuild
from projections.read_models.all_read_models import read_model_projections
from projections.read_models.queries.answers import ReadModels
from tests.conftest import make_settings


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(database_url, tmp_path / "var", key_epoch_hours=24, key_epochs_kept=2)


def _epochs(stores: Stores) -> list[int]:
    return [epoch for epoch, *_ in stores.epochs.epochs()]


def test_the_sweeper_closes_the_epoch_once_its_hours_are_up(
    stores: Stores, clock: MovableClock
) -> None:
    stores.ledger.register_subject("Ann", "ann@example.org", "app")
    clock.move(hours=23)
    thread, stop = start_sweeper(stores.ledger, None, 0.01, stores.epochs)
    try:
        time.sleep(0.3)
        assert _epochs(stores) == [1]  # not yet
        clock.move(hours=1)
        for _ in range(500):
            if _epochs(stores) == [1, 2]:
                break
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert _epochs(stores) == [1, 2]
    assert close_epoch_if_due(stores.ledger, stores.epochs) is None  # the new one is not due


def test_two_processes_due_at_once_close_the_epoch_once(
    settings, clock: MovableClock  # type: ignore[no-untyped-def]
) -> None:
    first, second = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    try:
        for number in range(50):
            first.ledger.register_subject(f"P{number}", f"p{number}@example.org", "app")
        clock.move(hours=24)
        outcomes = []
        go = threading.Barrier(2)

        def close(stores: Stores) -> None:
            go.wait()
            outcomes.append(close_epoch_if_due(stores.ledger, stores.epochs))

        threads = [threading.Thread(target=close, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        opened = [o.report.opened for o in outcomes if o is not None and o.report is not None]
        assert opened == [2]
        assert _epochs(first) == [1, 2]
    finally:
        first.close()
        second.close()


def test_a_purged_tenant_is_recorded_final_when_the_last_kek_of_its_keys_is_destroyed(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer").aggregate
    subject = ledger.register_subject("Zoë", "zoe@example.org", "app", tenant.id).aggregate
    ledger.terminate_tenant(tenant.id, "officer")
    clock.move(days=60, seconds=1)
    assert sweep(ledger).purged_tenants == [tenant.id]
    pending = {p.owner_id for p in stores.epochs.pending()}
    assert pending == {tenant.id, subject.id}

    finals = []
    for _ in range(3):
        finals += close_epoch(ledger, stores.epochs).final

    assert {f.owner_id for f in finals} == {tenant.id, subject.id}
    events = list(ledger.events.get(tenant.id))
    assert isinstance(events[-1], Tenant.PurgeBecameFinal)
    assert ledger.tenant(tenant.id).purge_final_at == events[-1].timestamp
    assert stores.epochs.pending() == []
    lookup = b"k" * 32
    projections = read_model_projections(stores.keys, lookup)
    rebuild.rebuild(ledger, stores.db, projections)
    read = ReadModels(stores.db, stores.keys, lookup, clock=clock)
    assert read.tenant(tenant.id)["purge_final_at"] == events[-1].timestamp
    # The subject was not erased itself: its key is final, and no event is made up for it.
    assert [type(e).__name__ for e in ledger.events.get(UUID(str(subject.id)))] == ["Registered"]


def test_an_erasure_that_crashed_before_its_event_is_recorded_final_once_it_is_retried(
    stores: Stores, clock: MovableClock
) -> None:
    ledger = stores.ledger
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    stores.keys.shred(subject.id)  # the crash: the key is gone, `Erased` never written
    for _ in range(3):
        assert close_epoch(ledger, stores.epochs).final == []
    assert [p.owner_id for p in stores.epochs.pending()] == [subject.id]

    ledger.erase_subject(subject.id, "officer")  # the retry
    finals = close_epoch(ledger, stores.epochs).final

    assert [f.owner_id for f in finals] == [subject.id]
    names = [type(e).__name__ for e in ledger.events.get(subject.id)]
    assert names == ["Registered", "Erased", "ErasureBecameFinal"]
