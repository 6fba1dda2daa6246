"""Key epochs: closing an epoch over many live data keys, and erasure beside them.

- **The close**: one store gets 100,000 live data keys, then `close_epoch` (what
  `ledger keys close-epoch` and the sweep run: `KeyEpochs.close`, then the erasures that became
  final) is timed once per run; each close re-wraps every live key under a new KEK. The store
  keeps one epoch (`key_epochs_kept=1`), so that every close also destroys the KEK before it,
  as each close does in production once `LEDGER_KEY_EPOCHS_KEPT` epochs exist: the close timed
  is the steady-state one (re-wrap, a second pass for keys made meanwhile, a KEK destroyed).
- **Erasure stays O(1)**: `Ledger.erase_subject` of a subject of ten events in that store
  (~100,000 live keys) against the same in a second store of the same kind with ~1,000,
  taken in turn, one here and one there, so that both sides see the same machine (median of
  11 each; one erasure first on each side, so neither pays for warming up). Also shown, for
  information: the first erasure right after a close, alone.

The keys are made fast, with the wrapping `SqlKeyStore.create` uses (the current epoch's KEK,
a fresh data key, the owner bound in as associated data) and inserted 5,000 per transaction
instead of one; after each close a sample of them is read back through the key store and
compared with what was made, so the figures are for keys the product can open.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from api.services.key_epochs import close_epoch
from api.bootstrap import open_stores
from bench.generate import long_subject
from bench.results import Results, at_most
from bench.sizes import Sizes
from bench.stores import Scratch
from bench.stores import scratch as scratch_store
from domain.ledger.keys import new_data_key

KEYS = {"quick": 2_000, "default": 100_000, "full": 100_000}  # live data keys at the close
FEW = {"quick": 200, "default": 1_000, "full": 1_000}  # live data keys for the small side
SAMPLES = 11  # erasures per side and run
SUBJECT_EVENTS = 10  # each erased subject's history
BATCH = 5_000
CHECKED = 50  # keys read back after each close


def _live(stores: Any) -> int:
    row = stores.db.fetchone("SELECT COUNT(*) FROM data_keys WHERE wrapped_key IS NOT NULL")
    return int(row[0])


def _fill(stores: Any, tenant: UUID, count: int) -> dict[UUID, bytes]:
    """`count` live data keys, wrapped as `SqlKeyStore.create` wraps them; returns a sample
    (owner → data key) to read back later."""
    keys = stores.keys
    epoch = keys.current_epoch()
    kek = keys.kek(epoch)
    sample: dict[UUID, bytes] = {}
    made = 0
    while made < count:
        now, rows = keys.now(), []
        for _ in range(min(BATCH, count - made)):
            owner, key = uuid4(), new_data_key()
            if len(sample) < CHECKED:
                sample[owner] = key
            rows.append((str(owner), str(tenant), kek.wrap(owner, key), now, epoch, epoch))
        with keys.db.transaction() as cur:
            cur.executemany(
                "INSERT INTO data_keys (owner_id, tenant_id, wrapped_key, created_at, epoch, "
                "first_epoch) VALUES (%s, %s, %s, %s, %s, %s)",
                rows,
            )
        made += len(rows)
    return sample


def _erase(ledger: Any, subject: UUID) -> float:
    began = time.perf_counter()
    ledger.erase_subject(subject, "officer")
    return time.perf_counter() - began


def _erasures(pair: tuple[Any, Any], tenants: tuple[UUID, UUID]) -> tuple[float, float]:
    """The median times of SAMPLES erasures of short-lived subjects in each of two stores,
    taken in turn (here, there, there, here, …), after one on each side that is not counted."""
    subjects = [
        [long_subject(stores.ledger, SUBJECT_EVENTS, tenant) for _ in range(SAMPLES + 1)]
        for stores, tenant in zip(pair, tenants)
    ]
    spent: tuple[list[float], list[float]] = ([], [])
    for number in range(SAMPLES + 1):
        for side in (0, 1) if number % 2 == 0 else (1, 0):
            took = _erase(pair[side].ledger, subjects[side][number])
            if number:
                spent[side].append(took)
    return statistics.median(spent[0]), statistics.median(spent[1])


def _check(stores: Any, sample: dict[UUID, bytes], epoch: int) -> None:
    stores.keys.forget_cached()
    for owner, key in sample.items():
        if stores.keys.get(owner) != key:
            raise AssertionError(f"data key {owner} does not read back after closing epoch {epoch}")
    moved = stores.db.fetchone(
        "SELECT COUNT(*) FROM data_keys WHERE wrapped_key IS NOT NULL AND epoch < %s", (epoch,)
    )
    if int(moved[0]) != 0:
        raise AssertionError(f"{moved[0]} live data keys not re-wrapped into epoch {epoch}")


@contextmanager
def _opened(scratch: Scratch) -> Iterator[Any]:
    """As `Scratch.opened`, keeping one epoch: every close destroys the KEK before it."""
    stores = open_stores(scratch.settings(key_epochs_kept=1))
    try:
        yield stores
    finally:
        stores.close()


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    store, total, few = scratch.store, KEYS[sizes.name], FEW[sizes.name]
    # The small side is a second store of the same kind, so that each erasure at 100,000 keys
    # is timed right beside one at 1,000 (the machine is shared: figures drift between runs).
    with _opened(scratch) as stores, scratch_store(store, "key-epochs-few") as other, \
            _opened(other) as small:
        pair = (stores, small)
        tenants = tuple(s.ledger.open_tenant("Epochs B.V.", "olga").aggregate.id for s in pair)
        _fill(small, tenants[1], few - _live(small))
        began = time.perf_counter()
        sample = _fill(stores, tenants[0], total - _live(stores))
        log(f"{store}: filled to {total:,} live data keys in {time.perf_counter() - began:.1f} s")
        for run in range(sizes.runs):
            large, short = _erasures(pair, tenants)
            results.add(
                f"erase a subject at {total:,} live data keys ÷ at {few:,}", store,
                large / short, "", at_most(2),
                note=f"{large * 1000:.1f} ms ÷ {short * 1000:.1f} ms (median of {SAMPLES} each, "
                f"in turn; {_live(stores):,} and {_live(small):,} live keys)",
            )
            _close(results, store, stores, sample, total, log)
            after = _erase(stores.ledger, long_subject(stores.ledger, SUBJECT_EVENTS, tenants[0]))
            results.add("erase a subject right after an epoch close", store, after * 1000, "ms",
                        note=f"one erasure, the first after the close over {total:,} keys")
            log(f"{store} key epochs run {run + 1}: erasure {large * 1000:.1f} ms vs "
                f"{short * 1000:.1f} ms, {after * 1000:.1f} ms right after the close")


def _close(
    results: Results, store: str, stores: Any, sample: dict[UUID, bytes], total: int, log: Any
) -> None:
    quarter = [0]

    def progress(done: int, of: int) -> None:
        if done * 4 >= (quarter[0] + 1) * of:
            quarter[0] = done * 4 // of
            log(f"{store}: {done:,} of {of:,} re-wrapped")

    began = time.perf_counter()
    outcome = close_epoch(stores.ledger, stores.epochs, progress=progress)
    spent = time.perf_counter() - began
    report = outcome.report
    _check(stores, sample, report.opened)
    destroyed = ", ".join(map(str, report.destroyed)) or "none"
    results.add(
        f"epoch close over {total:,} live data keys", store, spent, "s", at_most(60),
        note=f"{report.rewrapped:,} re-wrapped into epoch {report.opened}, KEK of epoch "
        f"{destroyed} destroyed, {len(outcome.final)} erasures made final",
    )
    results.add("epoch close: data keys re-wrapped/s", store, report.rewrapped / spent, "/s")
    log(f"{store}: epoch {report.opened} opened in {spent:.1f} s "
        f"({report.rewrapped / spent:,.0f} keys/s)")
