"""How big each benchmark is: `--quick` (seconds, for CI), the default, and `--full` (the issue's
sizes, about ten minutes on a 2-core machine)."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Sizes:
    name: str
    runs: int  # each figure is the median of this many runs, with min and max
    writes: int  # consent commands through the Ledger per run
    callers: int  # concurrent callers of the Ledger
    raw_seconds: float  # how long the raw-insert comparison runs
    raw_connections: int
    http_seconds: float  # per HTTP load phase
    http_clients: int
    http_subjects: int
    http_workers: int
    log_rows: int  # access-log rows generated straight into the read model
    log_tenants: int
    log_queries: int  # per page kind and run
    events: int  # the large log for rebuild and verify
    events_small: int  # the small log, for the memory ratio
    erase_long: int  # events of the long-lived subject that is erased
    erase_short: int
    webhooks: int  # subscriptions delivered to, and active beside the consent writes (issue 16)
    notices: int  # access requests whose notices go to every subscription, per run
    receiver_seconds: float  # how long the receiver's own ceiling is measured
    replay_runs: int = 0  # runs of the replays of the large log (0: as `runs`); they are long


QUICK = Sizes(
    name="quick", runs=1, writes=120, callers=8, raw_seconds=0.5, raw_connections=4,
    http_seconds=1.0, http_clients=8, http_subjects=20, http_workers=1,
    log_rows=3_000, log_tenants=10, log_queries=10,
    events=3_000, events_small=1_000, erase_long=300, erase_short=10,
    webhooks=10, notices=10, receiver_seconds=0.3,
)
DEFAULT = Sizes(
    name="default", runs=3, writes=3_000, callers=8, raw_seconds=3.0, raw_connections=4,
    http_seconds=8.0, http_clients=32, http_subjects=2_000, http_workers=2,
    log_rows=1_000_000, log_tenants=1_000, log_queries=100,
    events=100_000, events_small=10_000, erase_long=10_000, erase_short=10,
    webhooks=10, notices=300, receiver_seconds=2.0,
)
FULL = Sizes(
    name="full", runs=3, writes=6_000, callers=8, raw_seconds=4.0, raw_connections=4,
    http_seconds=10.0, http_clients=32, http_subjects=5_000, http_workers=2,
    log_rows=10_000_000, log_tenants=1_000, log_queries=200,
    events=1_000_000, events_small=100_000, erase_long=100_000, erase_short=10,
    webhooks=10, notices=1_000, receiver_seconds=3.0, replay_runs=2,
)
PRESETS = {sizes.name: sizes for sizes in (QUICK, DEFAULT, FULL)}


def choose(name: str, runs: int | None = None) -> Sizes:
    sizes = PRESETS[name]
    return replace(sizes, runs=runs, replay_runs=runs) if runs else sizes
