"""The sealer's bounds (projections/merkle_log/sealer.py): it signs a checkpoint over the very first event
too, keeps its intervals within the configured delay bound, and refuses settings that could
never keep one. Found by `make mutate`: a log of one event that never got a checkpoint, and
intervals clamped wrongly or not at all, passed every test."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from api import keyfiles
from api.bootstrap import make_sealer
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from projections.merkle_log.rfc9162 import root_from_leaf_hashes
from projections.merkle_log.store import NODE_STRIDE, latest_checkpoint, leaf_hashes
from projections.merkle_log.sealer import Sealer
from tests.conftest import make_settings


def test_a_log_of_a_single_event_gets_a_signed_checkpoint_over_it(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    durable_stores.ledger.open_tenant("Acme", "officer-1")
    events = durable_stores.ledger.recorder.select_notifications(start=None, limit=10)
    assert len(events) == 1

    sealer = Sealer(durable_stores.ledger, durable_stores.db, keyfiles.signing_key(durable_settings))
    assert sealer.seal_pending() == 1

    checkpoint = latest_checkpoint(durable_stores.db)
    assert checkpoint is not None and checkpoint.tree_size == 1
    assert checkpoint.root_hash == root_from_leaf_hashes(leaf_hashes(durable_stores.db, 0, 1))
    sealer.stop()


@pytest.mark.parametrize("delay", [0.4, 1.0, 5.0, 60.0])
def test_a_sealer_keeps_its_intervals_within_the_configured_delay_bound(
    stores: Stores, settings: Settings, tmp_path: Any, delay: float
) -> None:
    configured = make_settings(
        settings.database_url, tmp_path / "var", checkpoint_delay_seconds=delay,
        poll_interval_ms=1000,
    )
    sealer = make_sealer(stores, configured)

    assert sealer.checkpoint_interval == min(1.0, delay / 2)
    assert sealer.poll_interval == min(1.0, delay / 4)
    assert sealer.checkpoint_interval + sealer.poll_interval <= 0.75 * delay


def test_intervals_already_within_the_bound_are_kept_as_given(stores: Stores, settings: Settings) -> None:
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings),
                    checkpoint_interval=0.3, max_delay=5.0, poll_interval=0.05)

    assert (sealer.checkpoint_interval, sealer.poll_interval) == (0.3, 0.05)


@pytest.mark.parametrize("bad", [
    {"max_delay": 0}, {"max_delay": -1}, {"checkpoint_interval": 0}, {"poll_interval": 0},
    {"poll_interval": -0.1}, {"batch_size": 0},
])
def test_a_sealer_refuses_intervals_that_are_not_positive_and_an_empty_batch(
    bad: dict[str, float]
) -> None:
    with pytest.raises(ValueError) as refused:
        Sealer(None, None, None, **bad)  # type: ignore[arg-type]  # refused before any is used
    assert str(refused.value) == "intervals must be positive and batch_size at least 1"


def test_the_smallest_sensible_settings_are_accepted(stores: Stores, settings: Settings) -> None:
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings),
                    checkpoint_interval=0.01, max_delay=0.5, poll_interval=0.01, batch_size=1)

    assert sealer.batch_size == 1 and sealer.max_delay == 0.5


def _record(stores: Stores, people: int) -> int:
    tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate.id
    for n in range(people):
        stores.ledger.register_subject(f"P {n}", f"p{n}@example.org", "app", tenant)
    return 1 + people


def test_only_interior_nodes_at_the_stride_are_stored_never_a_leaf_twice(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    count = _record(durable_stores, 40)
    sealer = Sealer(durable_stores.ledger, durable_stores.db, keyfiles.signing_key(durable_settings))
    assert sealer.seal_pending() == count

    heights = {int(h) for (h,) in durable_stores.db.fetchall("SELECT DISTINCT height FROM merkle_nodes")}
    assert heights and all(h > 0 and h % NODE_STRIDE == 0 for h in heights)
    sealer.stop()


def test_a_sealer_overtaken_by_another_reports_that_it_sealed_nothing(
    tmp_path: Any, clock: Any
) -> None:
    """On SQLite, where no lock keeps a second sealer from trying (on PostgreSQL it stands by)."""
    settings = make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    try:
        key = keyfiles.signing_key(settings)
        late, quick = (Sealer(stores.ledger, stores.db, key) for _ in range(2))
        assert late.seal_pending() == 0  # it has read the (empty) tree
        count = _record(stores, 2)
        assert quick.seal_pending() == count

        assert late.seal_pending() == 0  # its view was stale: the other sealed them
        assert late.seal_pending() == 0 and late.tree_size == count
    finally:
        stores.close()


def test_a_stopped_sealer_started_again_follows_the_log_again(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = Sealer(durable_stores.ledger, durable_stores.db, keyfiles.signing_key(durable_settings),
                    poll_interval=0.02)
    sealer.start()
    sealer.stop()
    sealer.start()
    try:
        count = _record(durable_stores, 2)
        assert _eventually(lambda: _checkpointed(durable_stores) == count)
    finally:
        sealer.stop()


def test_a_caller_may_seal_while_the_background_sealer_runs(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = Sealer(durable_stores.ledger, durable_stores.db, keyfiles.signing_key(durable_settings),
                    poll_interval=0.02)
    sealer.start()
    try:
        count = _record(durable_stores, 2)
        assert _eventually(lambda: _checkpointed(durable_stores) == count)
        answered: list[int] = []
        caller = threading.Thread(target=lambda: answered.append(sealer.seal_pending()), daemon=True)
        caller.start()
        caller.join(timeout=5)
        assert answered == [0]  # the background loop lets it in between two polls
    finally:
        sealer.stop()


def _checkpointed(stores: Stores) -> int:
    checkpoint = latest_checkpoint(stores.db)
    return checkpoint.tree_size if checkpoint else 0


def _eventually(condition: Any, seconds: float = 15.0) -> bool:
    done = threading.Event()
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        done.wait(0.02)
    return True
