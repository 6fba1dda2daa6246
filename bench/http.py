"""The HTTP figures, against a real `ledger serve` (uvicorn, its own processes) on loopback:
consent writes (PUT) and consent checks (GET) from keep-alive clients, and the projection lag
while the writes go on (a probe writes every 0.1 s and times until the read models have it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench import wrk
from bench.results import Results, at_least, at_most, percentile
from bench.sizes import Sizes
from bench.stores import Scratch

PROBE_EVERY = 0.1
PROBE_POLL = 0.005  # often enough for a 500 ms goal, seldom enough not to load the store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(scratch: Scratch, workers: int) -> Iterator[str]:
    """`ledger serve` on a free loopback port until the block ends. On PostgreSQL as
    docs/deploy.md deploys it: API processes that only answer, and the projections and the
    sealer in a `ledger worker` of their own (inside a busy API process they wait for its
    lock on the interpreter, and the read models fall behind). SQLite serves it all in one."""
    port = _free_port()
    env = {**os.environ, **scratch.env(), "LEDGER_LOG_LEVEL": "warning",
           "LEDGER_POLL_INTERVAL_MS": "20"}
    log = tempfile.TemporaryFile()
    root = Path(__file__).resolve().parent.parent
    worker = None
    if scratch.store == "postgres":
        env["LEDGER_RUN_WORKERS"] = "false"
        worker = subprocess.Popen(
            [sys.executable, "-m", "api.cli.main", "worker"], env=env, stdout=log,
            stderr=subprocess.STDOUT, cwd=root,
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"ledger serve ended: {log.read()[-500:].decode()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("ledger serve did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        for child in (process, worker):
            if child is None:
                continue
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        log.close()


def _register(ledger: Any, count: int, callers: int = 8) -> list[str]:
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
    answer["p99"] = percentile(answer.pop("latencies"), 0.99)
    answer["tool"] = "httpx"
    return answer


class LagProbe:
    """Writes one consent every PROBE_EVERY seconds and times from its answer until every read
    model's tracking position has reached the write's position."""

    def __init__(self, url: str, token: str, subject: str, db: Any) -> None:
        self.url, self.token, self.subject, self.db = url, token, subject, db
        self.lags: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "LagProbe":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _position(self) -> int:
        row = self.db.fetchone("SELECT MIN(position) FROM projection_tracking")
        return int(row[0] or 0)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        body = {"status": "given", "notice_version": "2026-01", "method": "api"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as client:
            while not self._stop.wait(PROBE_EVERY):
                response = client.put(f"/v1/subjects/{self.subject}/consents/profiling", json=body)
                answered = time.perf_counter()
                if response.status_code != 200:
                    self.failures += 1
                    continue
                position = int(response.json()["position"])
                while self._position() < position:
                    if time.perf_counter() - answered > 30:
                        self.failures += 1
                        break
                    time.sleep(PROBE_POLL)
                else:
                    self.lags.append(time.perf_counter() - answered)


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    from api.http.auth import mint_token

    store = scratch.store
    settings = scratch.settings()
    token = mint_token(settings, "system", "bench-load", ttl=24 * 3600)
    with scratch.opened() as stores:
        subjects = _register(stores.ledger, sizes.http_subjects)
        probe_subject = subjects.pop()
        with serving(scratch, sizes.http_workers) as url:
            for run in range(sizes.runs):
                with LagProbe(url, token, probe_subject, stores.db) as probe:
                    writes = _load(url, token, "put", subjects, sizes)
                _report(results, store, "HTTP PUT consent", writes, 1500, 100, sizes)
                if probe.lags:
                    results.add("projection lag p99 under the PUT load", store,
                                percentile(probe.lags, 0.99) * 1000, "ms", at_most(500),
                                note=f"{len(probe.lags)} probes")
                reads = _load(url, token, "get", subjects, sizes)
                _report(results, store, "HTTP GET consent check", reads, 3000, 20, sizes)
                log(f"{store} http run {run + 1}: PUT {writes['rate']:.0f}/s, "
                    f"GET {reads['rate']:.0f}/s")


def _report(
    results: Results, store: str, what: str, load: dict[str, Any], rate_goal: float,
    p99_goal: float, sizes: Sizes,
) -> None:
    note = f"{sizes.http_clients} clients ({load['tool']}), {sizes.http_workers} workers"
    bad = load["requests"] - load["ok"] + load["errors"]
    if bad:
        note += f", {bad} failed: {load['statuses']}"
    results.add(f"{what} req/s", store, load["rate"], "/s", at_least(rate_goal), note=note)
    results.add(f"{what} p99", store, load["p99"] * 1000, "ms",
                at_most(p99_goal), note=note)

