"""The benchmark suite runs, in tiny sizes, so that it never rots: every figure of the issue comes
out as a row with values. No timing is asserted: this machine is
shared, and the figures belong in docs/benchmarks.md, not in a test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench import __main__ as suite
from bench import sizes

TINY = replace(
    sizes.QUICK, writes=40, raw_seconds=0.2, http_seconds=0.6, http_clients=4, http_subjects=8,
    log_rows=400, log_tenants=4, log_queries=3, events=600, events_small=200,
    erase_long=60, erase_short=5, webhooks=3, notices=4, receiver_seconds=0.2,
)


@pytest.mark.slow
def test_the_benchmark_suite_reports_every_figure_on_both_stores(
    pg_admin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_BENCH_POSTGRES_URL", pg_admin)
    monkeypatch.setitem(sizes.PRESETS, "quick", TINY)
    markdown = tmp_path / "table.md"

    # Every group on PostgreSQL; on SQLite the groups whose code differs by store (the HTTP
    # server and the replays run the same code on both, and cost seconds of process start each).
    results = suite.main(["--quick", "--stores", "postgres", "--markdown", str(markdown)])
    on_sqlite = suite.main(
        ["--quick", "--stores", "sqlite", "--only", "writes,erasure,notifications"]
    )

    rows = results.rows + on_sqlite.rows
    failed = [row.note for row in rows if row.note.startswith("failed")]
    assert failed == []
    reported = {(row.figure, row.store) for row in rows if row.values}
    assert ("Ledger consent writes/s, group commit", "sqlite") in reported
    assert (f"erase a subject of {TINY.erase_long:,} events ÷ of {TINY.erase_short}",
            "sqlite") in reported
    for store in ("postgres",):
        for figure in (
            "HTTP PUT consent req/s", "HTTP PUT consent p99", "HTTP GET consent check req/s",
            "HTTP GET consent check p99", "projection lag p99 under the PUT load",
            # issue 18: the ceiling, served the same way, and the ratios that carry the goals
            "HTTP PUT consent, ceiling req/s", "HTTP GET consent check, ceiling req/s",
            "HTTP PUT consent req/s ÷ ceiling", "HTTP PUT consent p99 ÷ ceiling p99",
            "HTTP GET consent check req/s ÷ ceiling", "HTTP GET consent check p99 ÷ ceiling p99",
            "HTTP GET consent check p99.9 ÷ its p99",
            "rebuild ÷ raw read-and-decode", "verify ÷ raw reading",
            "peak memory of verify, large ÷ small log", "peak memory of rebuild, large ÷ small log",
            f"erase a subject of {TINY.erase_long:,} events ÷ of {TINY.erase_short}",
        ):
            assert (figure, store) in reported
    for figure in (
        "durable consent writes via Ledger ÷ raw inserts",
        "access log newest page p99, query", "access log newest page p99, HTTP",
        "access log page a year back p99, query", "access log page a year back p99, HTTP",
    ):
        assert (figure, "postgres") in reported
    assert "durable consent writes via Ledger ÷ raw inserts" in markdown.read_text()
    # What issue 12's promises cost: the fresh check, the xlsx export, many refusals.
    for prefix in (
        "consent check: fresh ÷ read model only", "xlsx export ÷ JSON export",
        "xlsx export of", "decide on a request with",
    ):
        assert any(figure.startswith(prefix) for figure, store in reported if store == "postgres"), prefix
    # What issue 13's final erasure costs: closing an epoch, and erasing at many keys.
    for prefix in ("epoch close over", "erase a subject at"):
        assert any(figure.startswith(prefix) for figure, store in reported if store == "postgres"), prefix
    # What issue 16's outbox delivers, and what it costs consent writes, on both stores (the
    # outbox claims its deliveries differently on each).
    for store in ("sqlite", "postgres"):
        for figure in (
            "webhook deliveries/s to a local receiver", "receiver ceiling: plain httpx2 POSTs/s",
            "consent writes/s, no subscriptions, no outbox running",
            f"consent writes/s, {TINY.webhooks} subscriptions, outbox running",
            f"consent writes with {TINY.webhooks} subscriptions ÷ without (same run)",
        ):
            assert (figure, store) in reported, (figure, store)
    assert "webhook deliveries/s to a local receiver" in markdown.read_text()
