"""`python -m bench.profile STORE MODE [--seconds S] [--workers N] [--py-spy DIR]`: one HTTP load
against a fresh `ledger serve` (as `bench/http.py` serves it), for profiling and quick A/B
comparisons: prints the rate, p99 and p99.9, and each process's share of the CPUs (`top`).
With `--py-spy DIR` (py-spy installed by hand; it is not a dependency), every API process is
recorded with `--gil` into DIR as collapsed stacks while the load runs.

STORE: sqlite | postgres; MODE: put | get. The "A/B" rows of docs/benchmarks.md were measured
with this, back to back, with one change applied and not."""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
from pathlib import Path

from bench import wrk
from bench.http import register_subjects
from bench.servers import serving
from bench.stores import scratch

CLIENTS = 32
SUBJECTS = 2_000


def _api_processes(parent_pattern: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", parent_pattern], capture_output=True, text=True)
    return found.stdout.split()


def main(argv: list[str]) -> None:
    from api.http.auth import mint_token

    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("store", choices=("sqlite", "postgres"))
    parser.add_argument("mode", choices=("put", "get"))
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--py-spy", dest="py_spy", help="record each API process into this folder")
    args = parser.parse_args(argv)
    with scratch(args.store, "profile") as target:
        token = mint_token(target.settings(), "system", "bench-load", ttl=24 * 3600)
        with target.opened() as stores:
            subjects = register_subjects(stores.ledger, SUBJECTS)
            with serving(target, args.workers) as url:
                wrk.run(url, token, args.mode, subjects, CLIENTS, 2, 0)  # warm up
                spies = _record(args) if args.py_spy else []
                top: list[str] = []
                watcher = threading.Thread(target=lambda: top.append(_top(args.seconds)))
                watcher.start()
                load = wrk.run(url, token, args.mode, subjects, CLIENTS, args.seconds, 0)
                watcher.join()
                for spy in spies:
                    spy.wait()
    print(f"{args.store} {args.mode}, {args.workers} worker(s), {CLIENTS} clients: "
          f"{load['rate']:,.0f}/s, p99 {load['p99'] * 1000:.1f} ms, "
          f"p99.9 {load['p999'] * 1000:.1f} ms")
    print(top[0] if top else "")


def _record(args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    folder = Path(args.py_spy)
    folder.mkdir(parents=True, exist_ok=True)
    pids = _api_processes("multiprocessing.spawn" if args.workers > 1 else "api.cli.main serve")
    return [subprocess.Popen(
        ["py-spy", "record", "--gil", "-r", "200", "-d", str(args.seconds), "--format", "raw",
         "-o", str(folder / f"{args.store}-{args.mode}-{pid}.txt"), "-p", pid],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


def _top(seconds: int) -> str:
    """The busiest processes over the load (the second of `top`'s two samples)."""
    done = subprocess.run(["top", "-b", "-n", "2", "-d", str(max(1, seconds - 2))],
                          capture_output=True, text=True)
    lines = done.stdout.split("\n\n")[-1].splitlines()
    return "\n".join(lines[:12])


if __name__ == "__main__":
    main(sys.argv[1:])
