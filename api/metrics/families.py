"""The figures each process counts itself: its requests, its writes' transactions, its sweep runs.

They live in prometheus-client's default registry; under `ledger serve --workers N` (the
multiprocess mode, api/metrics/processes.py) each worker writes them to files of its own and
whoever is scraped sums them. Only counters and histograms: a worker that dies keeps its
counts in the sum, so every figure only ever rises, as Prometheus's `rate()` expects.

Labels hold nothing that names a person or a tenant: a route's template, never its path.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "ledger_http_requests", "HTTP requests answered, by method, route template and status",
    ("method", "route", "status"),
)
REQUEST_SECONDS = Histogram(
    "ledger_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method, route template and status",
    ("method", "route", "status"),
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SAVES = Histogram(
    "ledger_write_batch_saves",
    "Callers' saves committed together in one transaction (group commit; 1 without it)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
)
BATCH_EVENTS = Histogram(
    "ledger_write_batch_events", "Events committed in one transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
)
COMMIT_SECONDS = Histogram(
    "ledger_write_commit_seconds", "Time the store took to commit one transaction of events",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
SWEEP_RUNS = Counter(
    "ledger_sweep_runs", "Runs of the sweep (what time has made due), by outcome: ok or failed",
    ("outcome",),
)


def observe_commit(saves: int, events: int, seconds: float) -> None:
    """The Ledger's `watch_commits` callback (domain/ledger/base.py)."""
    BATCH_SAVES.observe(saves)
    BATCH_EVENTS.observe(events)
    COMMIT_SECONDS.observe(seconds)


def sweep_ran(ok: bool) -> None:
    SWEEP_RUNS.labels("ok" if ok else "failed").inc()
