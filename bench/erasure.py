"""Erasing a subject with a long history against erasing one with a short history: the cost of
erasure must not grow with the history (DESIGN.md §4). The long-lived subject's events are made
fast (bench.generate); each erasure is timed alone, through `Ledger.erase_subject`."""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.generate import long_subject
from bench.results import Results, at_most
from bench.sizes import Sizes
from bench.stores import Scratch

SHORT_SAMPLES = 5


def _erase(ledger: Any, subject: Any) -> float:
    began = time.perf_counter()
    ledger.erase_subject(subject, "officer")
    return time.perf_counter() - began


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    store = scratch.store
    with scratch.opened() as stores:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Erasure B.V.", "olga").aggregate.id
        for run in range(sizes.runs):
            long_id = long_subject(ledger, sizes.erase_long, tenant)
            short_ids = [long_subject(ledger, sizes.erase_short, tenant)
                         for _ in range(SHORT_SAMPLES)]
            # One erasure first, so that neither side pays for warming up.
            _erase(ledger, long_subject(ledger, sizes.erase_short, tenant))
            short = statistics.median(_erase(ledger, s) for s in short_ids)
            long = _erase(ledger, long_id)
            results.add(
                f"erase a subject of {sizes.erase_long:,} events ÷ of {sizes.erase_short}",
                store, long / short, "", at_most(1.2),
                note=f"{long * 1000:.1f} ms ÷ {short * 1000:.1f} ms (median of {SHORT_SAMPLES})",
            )
            log(f"{store} erasure run {run + 1}: {long * 1000:.1f} ms vs {short * 1000:.1f} ms")
