"""The HTTP figures, against a real `ledger serve` (uvicorn, its own processes) on loopback:
consent writes (PUT) and consent checks (GET) from keep-alive clients, and the projection lag
while the writes go on (`bench/lag.py`). Each is also taken as a ratio to the ceiling
(`bench/ceiling.py`: a trivial JWT-checked endpoint served the same way), loaded by the same
client with the same connections for the same time, right before or after it in the same run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench import wrk
from bench.lag import LagProbe
from bench.results import Results, at_least, at_most, percentile
from bench.servers import ceiling, serving
from bench.sizes import Sizes
from bench.stores import Scratch


def register_subjects(ledger: Any, count: int, callers: int = 8) -> list[str]:
    tenant = ledger.open_tenant("Web B.V.", "olga").aggregate.id
    made: list[str] = []
    lock = threading.Lock()

    def register(share: int) -> None:
        for i in range(share):
            subject = ledger.register_subject("Visitor", f"v{i}@example.org", "web",
                                              tenant_id=tenant)
            with lock:
                made.append(str(subject.aggregate.id))

    shares = [count // callers + (1 if n < count % callers else 0) for n in range(callers)]
    threads = [threading.Thread(target=register, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return made


def _load(url: str, token: str, mode: str, subjects: list[str], sizes: Sizes) -> dict[str, Any]:
    """Keep-alive clients for `http_seconds` (after a warm-up that does not count): wrk when
    installed, else the Python load generator in a process of its own."""
    warmup = min(2.0, sizes.http_seconds / 4) if sizes.http_seconds >= 4 else 0.0
    if wrk.available():
        return wrk.run(url, token, mode, subjects, sizes.http_clients, sizes.http_seconds, warmup)
    plan = {
        "url": url, "token": token, "mode": mode, "clients": sizes.http_clients,
        "seconds": sizes.http_seconds, "warmup": warmup,
        "subjects": subjects,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as plan_file:
        json.dump(plan, plan_file)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.load", plan_file.name], capture_output=True,
            text=True, timeout=sizes.http_seconds + 120,
            cwd=Path(__file__).resolve().parent.parent,
        )
    finally:
        os.unlink(plan_file.name)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-300:]}")
    answer = json.loads(done.stdout)
    latencies = answer.pop("latencies")
    answer["p99"], answer["p999"] = percentile(latencies, 0.99), percentile(latencies, 0.999)
    answer["tool"] = "httpx"
    return answer


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    from api.http.auth import mint_token

    store = scratch.store
    token = mint_token(scratch.settings(), "system", "bench-load", ttl=24 * 3600)
    with scratch.opened() as stores:
        subjects = register_subjects(stores.ledger, sizes.http_subjects)
        probe_subject = subjects.pop()
        with serving(scratch, sizes.http_workers) as url, \
                ceiling(sizes.http_workers) as (top, top_token):
            for run in range(sizes.runs):
                # The ceiling right before the ledger's figure it divides, and with the same
                # requests: the machine is shared, and absolute figures drift between minutes.
                put_top = _load(top, top_token, "put", subjects, sizes)
                with LagProbe(url, token, probe_subject, stores.db) as probe:
                    writes = _load(url, token, "put", subjects, sizes)
                _report(results, store, "HTTP PUT consent", writes, put_top, sizes,
                        rate_goal=0.40, p99_goal=3.0)
                if probe.lags:
                    results.add("projection lag p99 under the PUT load", store,
                                percentile(probe.lags, 0.99) * 1000, "ms", at_most(100),
                                note=f"{len(probe.lags)} probes")
                get_top = _load(top, top_token, "get", subjects, sizes)
                reads = _load(url, token, "get", subjects, sizes)
                _report(results, store, "HTTP GET consent check", reads, get_top, sizes,
                        rate_goal=0.80, p99_goal=2.0, tail_goal=5.0)
                log(f"{store} http run {run + 1}: PUT {writes['rate']:.0f}/s "
                    f"(ceiling {put_top['rate']:.0f}/s), GET {reads['rate']:.0f}/s "
                    f"(ceiling {get_top['rate']:.0f}/s)")


def _report(
    results: Results, store: str, what: str, load: dict[str, Any], top: dict[str, Any],
    sizes: Sizes, rate_goal: float, p99_goal: float, tail_goal: float | None = None,
) -> None:
    """The absolute figures of the ledger and of the ceiling (for reading), and the ratios
    that carry the goals, each taken inside this run."""
    note = f"{sizes.http_clients} clients ({load['tool']}), {sizes.http_workers} workers"
    for name, each in (("", load), ("ceiling ", top)):
        bad = each["requests"] - each["ok"] + each["errors"]
        failed = f", {bad} failed: {each['statuses']}" if bad else ""
        label = f"{what}, ceiling" if name else what
        results.add(f"{label} req/s", store, each["rate"], "/s", note=note + failed)
        results.add(f"{label} p99", store, each["p99"] * 1000, "ms", note=note + failed)
    results.add(f"{what} req/s ÷ ceiling", store, load["rate"] / top["rate"], "",
                at_least(rate_goal))
    results.add(f"{what} p99 ÷ ceiling p99", store, load["p99"] / top["p99"], "",
                at_most(p99_goal))
    results.add(f"{what} p99.9 ÷ its p99", store, load["p999"] / load["p99"], "",
                at_most(tail_goal) if tail_goal else None,
                note=f"p99.9 {load['p999'] * 1000:.1f} ms")
