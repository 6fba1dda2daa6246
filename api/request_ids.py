"""A request id on every request, on its answer, and on every log line the request causes.

The id is the client's `X-Request-ID` when it is a sane one (at most 128 letters, digits and
`._:-`, and nothing the log redaction would hide); otherwise the trace id of a W3C
`traceparent`; otherwise a fresh random one (with traces on: the trace id of the request's own
span, so that logs and traces agree). It is echoed as `X-Request-ID` on every answer, errors
and the body limits' 413 included, and kept in a context variable: every log record made
while the request is handled, in its task or in the threadpool (anyio copies the context into
worker threads), carries it as `record.request_id` (api/json_logs.py writes it out).

With JSON logs this layer also writes the access line, once the answer is done: method, the
route's template (or the redacted path when no route matched), status and duration. uvicorn's
own access line is then off (api/cli/serve.py): it knows neither the route nor the duration.

The layer sits outside everything else of the app, Starlette's error middleware included, so
that the 500 that middleware sends carries the id too. Starlette builds its middleware stack
on the first request, so `install` wraps that build; layers that must sit outside the stack
built so far but inside the request ids (the OpenTelemetry instrumentation) are put there by
`install_inside`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from api.logging_setup import redact

HEADER = b"x-request-id"
_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?")
_NO_TRACE = "0" * 32

current: ContextVar[str | None] = ContextVar("request_id", default=None)
# Whether the current id was made here rather than given: only such an id may be replaced by
# the trace id of the request's span (api/otel_traces.py).
_made_here: ContextVar[bool] = ContextVar("request_id_made_here", default=False)
access_log = logging.getLogger("ledger.access")
_factory_installed = False


def fresh() -> str:
    """A new id, shaped like a trace id (32 hex digits)."""
    return os.urandom(16).hex()


def given(value: str) -> str | None:
    """`value` if it may be used as a request id as it is, else None."""
    if _ID.fullmatch(value) is None or redact(value) != value:
        return None
    return value


def trace_id(traceparent: str) -> str | None:
    """The trace id of a W3C `traceparent` header, if the header is valid."""
    match = _TRACEPARENT.fullmatch(traceparent.strip())
    if match is None or match[1] == "ff" or match[2] == _NO_TRACE or match[3] == "0" * 16:
        return None
    return match[2]


def choose(headers: Any) -> tuple[str, bool]:
    """The id for a request with these (lower-case name, value) byte pairs, and whether it
    was made here."""
    wanted = parent = None
    for name, value in headers:
        if name == HEADER:
            wanted = value
        elif name == b"traceparent":
            parent = value
    if wanted is not None:
        chosen = given(wanted.decode("latin-1"))
        if chosen is not None:
            return chosen, False
    if parent is not None:
        chosen = trace_id(parent.decode("latin-1"))
        if chosen is not None:
            return chosen, False
    return fresh(), True


@contextmanager
def bound(request_id: str) -> Iterator[None]:
    """Log records made inside carry `request_id`: for the server's own answers to requests
    that never reach the app (api/http/header_limits.py)."""
    token = current.set(request_id)
    try:
        yield
    finally:
        current.reset(token)


def replace_fresh(request_id: str) -> None:
    """Use `request_id` for the current request if its own id was made here."""
    if _made_here.get():
        current.set(request_id)


class RequestIds:
    def __init__(self, app: Any, access_lines: bool) -> None:
        self.app = app
        self.access_lines = access_lines

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chosen, made_here = choose(scope["headers"])
        # Not reset afterwards: each request runs in a task (and context) of its own, and the
        # server's own "Exception in ASGI application" line, logged after the app has raised,
        # should still carry the id.
        current.set(chosen)
        _made_here.set(made_here)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((HEADER, (current.get() or chosen).encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if self.access_lines and status and access_log.isEnabledFor(logging.INFO):
                _access_line(scope, status, time.perf_counter() - started)


def _access_line(scope: Any, status: int, seconds: float) -> None:
    method = scope["method"]
    route = getattr(scope.get("route"), "path", None)
    where = {"route": route} if route else {"path": redact(scope["path"])}
    access_log.info(
        "%s %s %d", method, route or where["path"], status,
        extra={"method": method, **where, "status": status,
               "duration_ms": round(seconds * 1000, 2)},
    )


def _wrap(app: Any, access_lines: bool) -> None:
    inner = app.build_middleware_stack

    def build_middleware_stack() -> Any:
        return RequestIds(inner(), access_lines)

    build_middleware_stack.without_request_ids = inner  # type: ignore[attr-defined]
    build_middleware_stack.access_lines = access_lines  # type: ignore[attr-defined]
    app.build_middleware_stack = build_middleware_stack


def install(app: Any, settings: Any) -> None:
    _stamp_log_records()
    _wrap(app, access_lines=settings.log_format == "json")


def install_inside(app: Any, install_layer: Callable[[Any], None]) -> None:
    """Run `install_layer(app)`, which wraps the app's middleware build as `install` does,
    so that its layer ends up just inside the request ids."""
    build = app.build_middleware_stack
    if not hasattr(build, "without_request_ids"):  # no request ids on this app
        install_layer(app)
        return
    app.build_middleware_stack = build.without_request_ids
    install_layer(app)
    _wrap(app, build.access_lines)


def _stamp_log_records() -> None:
    """Every log record made from now on carries the request id of the request it is made
    for (None outside requests)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def stamped_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current.get()
        return record

    logging.setLogRecordFactory(stamped_record)
    _factory_installed = True
