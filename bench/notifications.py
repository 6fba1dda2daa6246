"""The outbox (issue 16): webhook deliveries per second to a local receiver, and consent writes
with 10 subscriptions and the outbox running against without, in the same run.

- **Deliveries/s.** `sizes.webhooks` subscriptions of a tenant (every customer notice) point at
  a receiver in its own process (`python -m bench.notifications`: loopback, 204 unchecked);
  `sizes.notices` access requests become notices (untimed), then the clock runs from
  `Container.start` (outbox_concurrency 8) until every delivery is `delivered`, a fresh
  container each run. The receiver must have seen every delivery id, its last requests signed
  with the run's secrets (an HMAC computed here, not with api/notifications/signatures.py).
  Its ceiling, same run: plain httpx2 POSTs, a new connection each, as the sender makes them.
- **Consent writes.** bench/writes.py's writers (group commit), in turn on one store: with no
  subscription and nothing in the background (the ledger before the outbox), and with
  `sizes.webhooks` subscriptions and the outbox's consumer and dispatcher running, the real
  cost (each change becomes a `consent.changed` notice, fanned out). Subscriptions are deleted
  and the outbox caught up (untimed) after each phase: no phase inherits another's backlog.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import statistics
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.results import Results, at_least
from bench.sizes import Sizes
from bench.stores import Scratch
from bench.writes import _ledger_writes

DRAIN_TIMEOUT = 300.0  # seconds: far beyond any drain; a stuck outbox becomes a failed row
SAMPLE = 20  # the last deliveries the receiver keeps whole, for checking their signatures
CONCURRENCY = 8  # the dispatcher's default outbox_concurrency
ROOT = Path(__file__).resolve().parent.parent  # where `python -m bench...` finds the package


# The receiver, in its own process (so that it does not share the bench's interpreter lock)
class _Receiver(BaseHTTPRequestHandler):
    seen: set[str] = set()
    sample: deque[dict[str, str]] = deque(maxlen=SAMPLE)
    guard = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        msg_id, header = self.headers.get("webhook-id"), self.headers.get
        with self.guard:
            if msg_id:  # the ceiling's plain POSTs carry none
                self.seen.add(msg_id)
                self.sample.append({"id": msg_id, "body": body.decode(),
                                    "timestamp": header("webhook-timestamp", ""),
                                    "signature": header("webhook-signature", "")})
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        with self.guard:
            answer = json.dumps({"distinct": len(self.seen),
                                 "sample": list(self.sample)}).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: Any) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of new connections is queued, not refused
    daemon_threads = True


@contextmanager
def receiver() -> Iterator[str]:
    """The receiver's base URL, for as long as the block runs."""
    child = subprocess.Popen([sys.executable, "-m", "bench.notifications"],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        port = (child.stdout.readline() if child.stdout else "").strip()
        if not port.isdigit():
            raise RuntimeError("the webhook receiver did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(10)


# The figures
def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    store, hooks = scratch.store, sizes.webhooks
    settings = scratch.settings(webhook_allowed_hosts=["127.0.0.1"],
                                outbox_concurrency=CONCURRENCY)
    with scratch.opened() as stores:
        tenant = stores.ledger.open_tenant("Hooks B.V.", "olga").aggregate.id
    with receiver() as base:
        for run in range(sizes.runs):
            rate, how = _deliveries(settings, tenant, base, sizes)
            ceiling = _ceiling(base, sizes.receiver_seconds)
            without, with_hooks, behind = _consent_writes(settings, tenant, base, sizes, run)
            results.add("webhook deliveries/s to a local receiver", store, rate, "/s", note=how)
            results.add("receiver ceiling: plain httpx2 POSTs/s", store, ceiling, "/s",
                        note=f"{CONCURRENCY} threads, a new connection each")
            results.add("consent writes/s, no subscriptions, no outbox running", store,
                        without, "/s", note=f"{sizes.callers} callers, group commit")
            results.add(f"consent writes/s, {hooks} subscriptions, outbox running", store,
                        with_hooks, "/s", note=f"{sizes.callers} callers, group commit; the "
                        f"outbox {behind:,} event(s) behind as the writes ended")
            results.add(f"consent writes with {hooks} subscriptions ÷ without (same run)",
                        store, with_hooks / without, "×", at_least(0.90))
            log(f"{store} notifications run {run + 1}: {rate:.0f} deliveries/s (receiver "
                f"{ceiling:.0f}/s); consent {without:.0f}/s without, {with_hooks:.0f}/s with")


def _subscribe(container: Any, tenant: UUID, base: str, count: int) -> dict[UUID, str]:
    from domain.notifications import CUSTOMER_NOTICES

    ledger, made = container.stores.ledger, {}
    for _ in range(count):
        sub, secret = container.subscriptions().create(
            url=f"{base}/hook", types=[t.value for t in CUSTOMER_NOTICES], actor="carla",
            now=ledger.now(), head=int(ledger.recorder.max_notification_id() or 0),
            tenant_id=tenant,
        )
        made[sub.id] = secret
    return made


def _deliveries(settings: Any, tenant: UUID, base: str, sizes: Sizes) -> tuple[float, str]:
    """Deliveries/s of `sizes.notices` notices to `sizes.webhooks` subscriptions made for the
    run (deleted after it), and what the attempts were like."""
    from api.bootstrap import build
    from projections.outbox.tables import OUTBOX_ATTEMPTS
    from projections.read_models.tables import micros

    container = build(settings, sealer=False)
    try:
        secrets = _subscribe(container, tenant, base, sizes.webhooks)
        before, already = _stats(base), _by_status(container).get("delivered", 0)
        for i in range(sizes.notices):
            container.stores.ledger.request_access(
                tenant, "sam", "read", ["orders"], f"ticket {i}", duration_minutes=60)
        container.outbox.catch_up()
        container.read_side.runner.catch_up()
        sent, since = sizes.notices * len(secrets), micros(container.stores.ledger.now())
        began = time.perf_counter()
        container.start(sealer=False, sweep=False)
        while (done := _by_status(container)).get("delivered", 0) < already + sent:
            if time.perf_counter() - began > DRAIN_TIMEOUT or set(done) - {"pending",
                                                                          "delivered"}:
                raise RuntimeError(f"the outbox did not deliver everything: {done}")
            time.sleep(0.02)
        elapsed = time.perf_counter() - began
        attempts = container.stores.db.fetchall(
            f"SELECT latency_ms, status FROM {OUTBOX_ATTEMPTS.name} WHERE at >= %s", (since,))
        for sub_id in secrets:
            container.subscriptions().delete(sub_id)
    finally:
        container.close()
    after = _stats(base)
    if (seen := after["distinct"] - before["distinct"]) != sent:
        raise RuntimeError(f"the receiver saw {seen} delivery ids, not {sent}")
    _check_signatures(after["sample"], secrets)
    failed = sum(1 for _, status in attempts if status != 204)
    return sent / elapsed, (f"{sent:,} deliveries: {sizes.notices:,} notices × {len(secrets)} "
                            f"subscriptions, {CONCURRENCY} at once; an attempt's median "
                            f"{statistics.median(a for a, _ in attempts):.0f} ms, {failed} failed")


def _stats(base: str) -> dict[str, Any]:
    import httpx2

    return httpx2.get(f"{base}/stats", timeout=10).json()


def _by_status(container: Any) -> dict[str, int]:
    from projections.outbox.tables import OUTBOX_DELIVERIES

    rows = container.stores.db.fetchall(
        f"SELECT status, COUNT(*) FROM {OUTBOX_DELIVERIES.name} GROUP BY status")
    return {status: int(count) for status, count in rows}


def _check_signatures(sample: list[dict[str, str]], secrets: dict[UUID, str]) -> None:
    """Each request is signed as Standard Webhooks has it with one of the secrets (the bench
    gives every subscription the same URL, so the request does not say which)."""
    keys = [base64.b64decode(s.removeprefix("whsec_")) for s in secrets.values()]
    for got in sample:
        content = f"{got['id']}.{got['timestamp']}.{got['body']}".encode()
        expected = {hmac.new(key, content, hashlib.sha256).digest() for key in keys}
        offered = {base64.b64decode(part.removeprefix("v1,"))
                   for part in got["signature"].split() if part.startswith("v1,")}
        if not expected & offered:
            raise RuntimeError(f"delivery {got['id']} is not signed with a subscription's secret")


def _ceiling(base: str, seconds: float) -> float:
    import httpx2

    # About the size of a real webhook's body (the padding is JSON whitespace).
    body = json.dumps({"type": "access.requested", "data": {"id": "x" * 36}}).ljust(240).encode()
    counts, deadline = [0] * CONCURRENCY, time.perf_counter() + seconds
    trust = ssl.create_default_context()  # made once, as the sender's is: one costs ~30 ms

    def post(number: int) -> None:
        while time.perf_counter() < deadline:
            with httpx2.Client(verify=trust, trust_env=False, timeout=10) as client:
                client.post(f"{base}/plain", content=body,
                            headers={"content-type": "application/json"})
            counts[number] += 1

    threads = [threading.Thread(target=post, args=(n,)) for n in range(CONCURRENCY)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)


def _consent_writes(settings: Any, tenant: UUID, base: str, sizes: Sizes,
                    run: int) -> tuple[float, float, int]:
    """Consent writes/s without, and with subscriptions and the outbox, in turn (the order
    alternates between runs); and how far the outbox was behind as the writes with it ended."""
    from api.bootstrap import build

    container = build(settings, sealer=False)
    try:
        ledger, outbox, rates, behind = container.stores.ledger, container.outbox, {}, 0
        for phase in (("without", "with") if run % 2 == 0 else ("with", "without")):
            if phase == "without":
                rates[phase] = _ledger_writes(ledger, tenant, sizes, group_commit=True)
            else:
                made = _subscribe(container, tenant, base, sizes.webhooks)
                outbox.start()
                container.dispatcher().start()
                try:
                    rates[phase] = _ledger_writes(ledger, tenant, sizes, group_commit=True)
                    behind = max(0, outbox.head() - outbox.position())
                finally:
                    container.dispatcher().stop()
                    outbox.stop()
                    for sub_id in made:
                        container.subscriptions().delete(sub_id)
            outbox.catch_up()  # untimed: the next phase starts with no backlog
            container.dispatcher().fan_out()
    finally:
        container.close()
    return rates["without"], rates["with"], behind


if __name__ == "__main__":
    server = _Server(("127.0.0.1", 0), _Receiver)
    print(server.server_address[1], flush=True)
    server.serve_forever()
