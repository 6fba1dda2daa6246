"""`python -m bench [--quick | --full] [--runs N] [--stores sqlite,postgres] [--only GROUPS]
[--markdown FILE] [--json FILE]`: runs the benchmarks and prints one table.

Groups: writes (Ledger vs raw inserts), http (PUT, GET, projection lag), access-log (PostgreSQL,
generated rows), replay (rebuild, verify, peak memory), erasure, costs (the fresh consent check,
the xlsx export, decisions on requests with many refusals), key-epochs (an epoch close over
100,000 live data keys; erasure at 1,000 and at 100,000 live keys; `key_epochs` works too),
notifications (webhook deliveries/s to a local receiver; consent writes with 10 subscriptions
and the outbox running against without).
Every group makes its own data in a throwaway store and removes it afterwards."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable

from rich.console import Console

from bench import access_log, costs, erasure, http, key_epochs, notifications, replay, writes
from bench.machine import describe, postgres_version
from bench.results import Results, guarded
from bench.sizes import choose
from bench.stores import STORES, conninfo, pg_admin_url, postgres_available, scratch

GROUPS = (
    "writes", "http", "access-log", "replay", "erasure", "costs", "key-epochs", "notifications",
)
POSTGRES_ONLY = {"access-log"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", dest="size", const="quick",
                      help="tiny sizes that run in seconds (CI)")
    size.add_argument("--full", action="store_const", dest="size", const="full",
                      help="the issue's sizes: 1 million events, 10 million log rows (~10 min)")
    parser.add_argument("--runs", type=int, help="runs per figure (default: by size)")
    parser.add_argument("--stores", default=",".join(STORES),
                        help="comma-separated: sqlite, postgres (default: both)")
    parser.add_argument("--only", default=",".join(GROUPS),
                        help=f"comma-separated groups (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    parser.add_argument("--json", help="also write every run's values as JSON to this file")
    return parser.parse_args(argv)


def _stop(signum: int, _frame: object) -> None:
    # A terminated bench still drops its databases and removes its files (the `finally`s).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> Results:
    args = _arguments(argv)
    if not threading_main():
        return _run(args)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> Results:
    sizes = choose(args.size or "default", args.runs)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    groups = [g.strip().replace("_", "-") for g in args.only.split(",") if g.strip()]
    unknown = [s for s in stores if s not in STORES] + [g for g in groups if g not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown store or group: {', '.join(unknown)}")
    out = Console(highlight=False, width=max(170, Console().width))
    err = Console(stderr=True, highlight=False)
    if "postgres" in stores and (why := postgres_available()) is not None:
        raise SystemExit(f"PostgreSQL does not answer at {pg_admin_url()}: {why}. "
                         "Pass --stores sqlite, or set LEDGER_BENCH_POSTGRES_URL.")
    began = time.monotonic()

    def log(message: str) -> None:
        err.log(f"[{time.monotonic() - began:6.0f} s] {message}")

    results = Results()
    for group in groups:
        for store in stores:
            if group in POSTGRES_ONLY and store != "postgres":
                continue
            log(f"{group} on {store} ({sizes.name} sizes)")
            guarded(results, group, store, _runner(group, store, sizes, results, log))
    machine = describe(postgres_version(conninfo(pg_admin_url())) if "postgres" in stores
                       else None)
    title = (f"Compliance Ledger benchmarks ({sizes.name} sizes, {sizes.runs} run(s) each; "
             f"{time.monotonic() - began:.0f} s)")
    out.print(results.table(title))
    out.print(" · ".join(f"{k}: {v}" for k, v in machine.items()))
    if args.markdown:
        with open(args.markdown, "w") as file:
            file.write(f"{title}\n\n")
            file.write("".join(f"- {k}: {v}\n" for k, v in machine.items()) + "\n")
            file.write(results.markdown())
    if args.json:
        with open(args.json, "w") as file:
            file.write(results.as_json())
    return results


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _runner(group: str, store: str, sizes, results: Results, log) -> Callable[[], None]:
    def run() -> None:
        if group == "replay":
            replay.measure(results, store, sizes, log)
            return
        module = {"writes": writes, "http": http, "access-log": access_log,
                  "erasure": erasure, "costs": costs, "key-epochs": key_epochs,
                  "notifications": notifications}[group]
        with scratch(store, group) as target:
            module.measure(results, target, sizes, log)

    return run


if __name__ == "__main__":
    main(sys.argv[1:])
