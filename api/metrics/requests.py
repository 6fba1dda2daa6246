"""Every request counted and timed by its route's template, and GET /metrics on the API's port.

One pure ASGI layer (as `_Guard` in api/app.py): a `send` wrapper that notes the status, and
the route the router chose (`scope["route"]`, set on the request's own scope) read once the
answer is done. Labels are the template (`/v1/tenants/{tenant_id}`), never the path: no ids in
the metrics and a bounded number of series; a path no route matches is `unmatched`.

GET /metrics here answers only to `Authorization: Bearer <LEDGER_METRICS_TOKEN>` (401
otherwise); without a token configured it is not served here at all (the app's usual 404).
It is no route of the app, so it is in no OpenAPI schema. LEDGER_METRICS_PORT serves the
same without a token (api/metrics/processes.py).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from api.http.problems import problem_response
from api.metrics.exposition import render
from api.metrics.families import REQUEST_SECONDS, REQUESTS

PATH = "/metrics"
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestFigures:
    def __init__(self, app: Any, registry: CollectorRegistry, token: str | None) -> None:
        self.app = app
        self.registry = registry
        self.token = token.encode() if token else None
        # (method, route, status) -> its counter and histogram: `labels()` once per series.
        self._series: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app raises before answering

        async def send_noting_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        scraped = self.token is not None and scope["path"] == PATH and scope["method"] == "GET"
        try:
            if scraped:
                await self._metrics(scope, receive, send_noting_status)
            else:
                await self.app(scope, receive, send_noting_status)
        finally:
            template = PATH if scraped else getattr(scope.get("route"), "path", None)
            seconds = time.perf_counter() - started
            self._count(scope["method"], template or UNMATCHED, status, seconds)

    def _count(self, method: str, template: str, status: int, seconds: float) -> None:
        method = method if method in _METHODS else "other"
        key = (method, template, str(status))
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = (REQUESTS.labels(*key), REQUEST_SECONDS.labels(*key))
        series[0].inc()
        series[1].observe(seconds)

    async def _metrics(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope)
        if not self._authorised(request.headers.get("authorization", "")):
            response: Response = problem_response(
                request, 401, "GET /metrics needs Authorization: Bearer <LEDGER_METRICS_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        else:
            # The store's figures are read with blocking calls: off the event loop.
            body, content_type = await run_in_threadpool(
                render, self.registry, request.headers.get("accept", "")
            )
            response = Response(
                body, media_type=content_type, headers={"Cache-Control": "no-store"}
            )
        await response(scope, receive, send)

    def _authorised(self, header: str) -> bool:
        assert self.token is not None
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self.token)
