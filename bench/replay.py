"""Replays of the whole log: rebuilding every read model, and `ledger verify`, each against the
raw rate of the same pass over the same rows in the same run, and their peak memory at the
large log against the small one (each replay runs in a process of its own: getrusage maxrss).

- raw read-and-decode: `select_notifications` in chunks plus the mapper's `to_domain_event`
  (decryption included), nothing else: what any replay must do at least;
- raw reading: `select_notifications` in chunks, no decoding: what verify must do at least."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.generate import generate
from bench.results import Results, at_least, at_most, guarded
from bench.sizes import Sizes
from bench.stores import Scratch, scratch

ROOT = Path(__file__).resolve().parent.parent


def prepare(target: Scratch, events: int, log: Any) -> int:
    """Generate the log and seal it (verify checks the sealed leaves and the checkpoint)."""
    from api.bootstrap import make_sealer

    with target.opened() as stores:
        began = time.perf_counter()
        made = generate(stores.ledger, events)
        generated = time.perf_counter()
        make_sealer(stores, target.settings()).seal_pending()
        log(f"{target.store}: {made['events']:,} events generated in {generated - began:.0f} s, "
            f"sealed in {time.perf_counter() - generated:.0f} s")
        return int(made["events"])


def child(what: str, target: Scratch) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.child", what, target.url, str(target.data_dir)],
        capture_output=True, text=True, cwd=ROOT, timeout=3600,
    )
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{what} failed: {last[0][:300]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if not answer["ok"]:
        raise RuntimeError(f"{what} found problems in a log it should find whole")
    return answer


def raw_rate(target: Scratch, decode: bool) -> float:
    from projections.audit.event_rows import iter_events

    with target.opened() as stores:
        mapper = stores.ledger.mapper
        began = time.perf_counter()
        count = 0
        for notification in iter_events(stores.ledger.recorder):
            if decode:
                mapper.to_domain_event(notification)
            count += 1
        return count / (time.perf_counter() - began)


def measure(results: Results, store: str, sizes: Sizes, log: Any) -> None:
    # Rebuild and verify are measured apart: one failing still leaves the other's figures.
    with scratch(store, "replay-small") as small:
        small_events = prepare(small, sizes.events_small, log)
        small_peak = {
            what: guarded(results, f"{what} (small log)", store,
                          lambda what=what: child(what, small)["peak_kb"])
            for what in ("rebuild", "verify")
        }
    with scratch(store, "replay") as big:
        events = prepare(big, sizes.events, log)
        for run in range(sizes.replay_runs or sizes.runs):
            for what in ("rebuild", "verify"):
                guarded(results, what, store, lambda what=what: _run(
                    results, store, what, big, events, small_peak[what], small_events, log, run
                ))


def _run(
    results: Results, store: str, what: str, big: Scratch, events: int, small_peak: int | None,
    small_events: int, log: Any, run: int,
) -> None:
    note = f"{events:,} events"
    raw = raw_rate(big, decode=what == "rebuild")
    answer = child(what, big)
    rate = answer["events"] / answer["seconds"]
    if what == "rebuild":
        results.add("raw read-and-decode events/s", store, raw, "/s", note=note)
        results.add("rebuild events/s", store, rate, "/s", note=note)
        results.add("rebuild ÷ raw read-and-decode", store, rate / raw, "", at_least(0.25),
                    note=note)
    else:
        results.add("raw reading events/s", store, raw, "/s", note=note)
        results.add("verify events/s", store, rate, "/s", note=note)
        results.add("verify ÷ raw reading", store, rate / raw, "", at_least(0.8), note=note)
    if small_peak:
        results.add(f"peak memory of {what}, large ÷ small log", store,
                    answer["peak_kb"] / small_peak, "", at_most(1.2),
                    note=f"{answer['peak_kb'] / 1024:.0f} MB at {events:,} ÷ "
                    f"{small_peak / 1024:.0f} MB at {small_events:,}")
    log(f"{store} {what} run {run + 1}: {rate:,.0f}/s (raw {raw:,.0f}/s)")
