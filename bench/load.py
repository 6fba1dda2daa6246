"""The HTTP load generator, in a process of its own so that it does not share a GIL with the
probe: `python -m bench.load PLAN.json` runs keep-alive clients (httpx, asyncio) against a local
`ledger serve` for a bounded time and prints one JSON line: requests, errors, rate, latencies.

PLAN: {"url", "token", "mode": "put"|"get", "clients", "seconds", "warmup", "subjects": [...],
"max_requests"}. Loopback only: the plan's url must be 127.0.0.1 or localhost."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any
from urllib.parse import urlparse

PURPOSES = ("info_mail", "product_mail", "blog_mail", "analytics_cookies")
GIVEN = {"status": "given", "notice_version": "2026-01", "method": "cookie_banner",
         "channel": "web"}
WITHDRAWN = {"status": "withdrawn", "method": "cookie_banner", "channel": "web"}
# The check asks for the channel the decisions name, as a sender asks before using it
# (without a channel the answer covers all seven channels).
CHECK = {"channel": "web"}


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    import httpx

    host = urlparse(plan["url"]).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator only talks to the local machine")
    clients = int(plan["clients"])
    subjects = plan["subjects"]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {plan['token']}"}
    began = time.perf_counter()
    measure_from = began + float(plan.get("warmup", 0))
    stop_at = measure_from + float(plan["seconds"])
    budget = [int(plan.get("max_requests", 10**9))]
    rng = random.Random(7)

    async with httpx.AsyncClient(
        base_url=plan["url"], headers=headers, limits=limits, timeout=30.0
    ) as client:

        async def worker() -> None:
            while budget[0] > 0:
                now = time.perf_counter()
                if now >= stop_at:
                    return
                budget[0] -= 1
                subject = rng.choice(subjects)
                purpose = rng.choice(PURPOSES)
                path = f"/v1/subjects/{subject}/consents/{purpose}"
                try:
                    if plan["mode"] == "put":
                        body = GIVEN if rng.random() < 0.8 else WITHDRAWN
                        response = await client.put(path, json=body)
                    else:
                        response = await client.get(path, params=CHECK)
                except httpx.HTTPError:
                    errors[0] += 1
                    continue
                done = time.perf_counter()
                if now >= measure_from:
                    latencies.append(done - now)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = max(1e-9, min(time.perf_counter(), stop_at) - measure_from)
    ok = sum(count for status, count in statuses.items() if status < 400)
    return {
        "requests": len(latencies), "ok": ok, "errors": errors[0], "statuses": statuses,
        "rate": ok / elapsed, "latencies": latencies,
    }


def main() -> None:
    with open(sys.argv[1]) as plan_file:
        plan = json.load(plan_file)
    print(json.dumps(asyncio.run(run(plan))))


if __name__ == "__main__":
    main()
