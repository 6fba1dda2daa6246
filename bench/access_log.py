"""The access-log pages on PostgreSQL: 10 million rows over 1,000 tenants, the newest page and a
page one year back, p99 latency of the query (ReadModels.access_log) and over HTTP.

This measures the read path: the rows are generated straight into the read-model table with
`generate_series` (making 10 million access events through the ledger would take hours and
measure the write path instead). The tenants themselves are real: opened through the ledger
and projected, so the HTTP route finds them."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from bench.http import serving
from bench.results import Results, at_most, percentile
from bench.sizes import Sizes
from bench.stores import Scratch

YEARS = 2  # the generated log spans two years up to now
POSITION_OFFSET = 1_000_000_000  # generated rows' positions, clear of real notification ids


def _generate(scratch: Scratch, stores: Any, sizes: Sizes, log: Any) -> tuple[list[str], int]:
    import psycopg

    from api.bootstrap import start_read_side

    ledger = stores.ledger
    tenants = [str(ledger.open_tenant(f"Tenant {n}", "olga").aggregate.id)
               for n in range(sizes.log_tenants)]
    read_side = start_read_side(stores, scratch.settings(), run_projections=False)
    read_side.runner.catch_up()
    now = int(datetime.now(timezone.utc).timestamp() * 1_000_000)
    span = YEARS * 365 * 24 * 3600 * 1_000_000
    step = max(1, span // sizes.log_rows)
    began = time.perf_counter()
    with psycopg.connect(scratch.pg_conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_tenants (n integer PRIMARY KEY, id text NOT NULL)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bench_tenants (n, id) VALUES (%s, %s)",
                            list(enumerate(tenants)))
        conn.execute(
            "INSERT INTO access_log (position, tenant_id, at, actor, action, resource, "
            "request_id, outcome, detail) "
            "SELECT %s::bigint + g, t.id, %s::bigint - (%s::bigint - g) * %s::bigint, "
            "'staff-' || (g %% 37), 'read', "
            "'orders/' || (g %% 10007), md5((g / 25)::text)::uuid::text, "
            "CASE WHEN g %% 11 = 0 THEN 'refused' ELSE 'allowed' END, "
            "CASE WHEN g %% 11 = 0 THEN 'grant expired' END "
            "FROM generate_series(1, %s) AS g JOIN bench_tenants t ON t.n = g %% %s",
            (POSITION_OFFSET, now, sizes.log_rows, step, sizes.log_rows, sizes.log_tenants),
        )
        conn.execute("ANALYZE access_log")
    log(f"postgres access log: {sizes.log_rows:,} rows in {time.perf_counter() - began:.0f} s")
    return tenants, now


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    from api.bootstrap import start_read_side
    from api.http.auth import mint_token

    store = scratch.store
    rng = random.Random(10)
    note = f"{sizes.log_rows:,} rows, {sizes.log_tenants:,} tenants, 100 per page"
    with scratch.opened() as stores:
        tenants, _ = _generate(scratch, stores, sizes, log)
        read = start_read_side(stores, scratch.settings(), run_projections=False).read_models
        year_back = datetime.now(timezone.utc) - timedelta(days=365)
        token = mint_token(scratch.settings(), "auditor", "bench-auditor", ttl=24 * 3600)
        with serving(scratch, 1) as url, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as client:
            for tenant in tenants[:5]:  # warm up: pools, prepared statements, the first pages
                read.access_log(tenant, limit=100)
                client.get(f"/v1/tenants/{tenant}/access-log", params={"limit": 100})
            for run in range(sizes.runs):
                for label, until in (("newest page", None), ("page a year back", year_back)):
                    query, http = [], []
                    for _ in range(sizes.log_queries):
                        tenant = rng.choice(tenants)
                        began = time.perf_counter()
                        page = read.access_log(tenant, until=until, limit=100)
                        query.append(time.perf_counter() - began)
                        if not page["items"]:
                            raise RuntimeError(f"tenant {tenant} has an empty {label}")
                        params: dict[str, Any] = {"limit": 100}
                        if until is not None:
                            params["until"] = until.isoformat()
                        began = time.perf_counter()
                        response = client.get(f"/v1/tenants/{tenant}/access-log", params=params)
                        http.append(time.perf_counter() - began)
                        response.raise_for_status()
                    results.add(f"access log {label} p99, query", store,
                                percentile(query, 0.99) * 1000, "ms", at_most(20), note=note)
                    results.add(f"access log {label} p99, HTTP", store,
                                percentile(http, 0.99) * 1000, "ms", at_most(50), note=note)
                log(f"{store} access log run {run + 1} done")
