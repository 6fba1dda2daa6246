"""The OpenTelemetry side of api/tracing.py, imported only when traces are on.

One tracer provider per process, exporting in batches over OTLP/HTTP to the endpoint of the
standard OTEL_EXPORTER_OTLP_* variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES and
OTEL_BSP_* are honoured too). Spans come from the OpenTelemetry FastAPI instrumentation (one
server span per request, named by the route's template) and the psycopg instrumentation (one
span per statement: its SQL text, never its parameters).

Unless OTEL_TRACES_SAMPLER says otherwise, a trace starts only at a request: the statements
of the projections', the sealer's and the sweep's polling, which run outside any request,
would otherwise be a stream of spans every few milliseconds.

No span leaves the process holding personal data or a secret: the exporter is wrapped so that
every string of a span (attributes, events such as a recorded exception's message, the status)
goes through the log redaction (api/logging_setup.py: query values, unsubscribe tokens,
credentials, e-mail addresses and phone numbers), and the client's address is left out.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler, SamplingResult,
)
from opentelemetry.trace import SpanKind, Status, format_trace_id

from api import request_ids
from api.logging_setup import redact

SERVICE_NAME = "compliance-ledger"
# Where a client's address can be: an IP address is personal data.
CLIENT_ADDRESS_KEYS = frozenset({
    "net.peer.ip", "net.peer.port", "net.sock.peer.addr", "net.sock.peer.port",
    "client.address", "client.port", "network.peer.address", "network.peer.port",
    "http.client_ip",
})

_lock = threading.Lock()
_provider: TracerProvider | None = None
_psycopg_instrumented = False


class RequestsOnly(Sampler):
    """Starts a trace for a request (a server span), not for anything else without a parent."""

    def should_sample(self, parent_context: Any, trace_id: int, name: str,
                      kind: SpanKind | None = None, attributes: Any = None, links: Any = None,
                      trace_state: Any = None) -> SamplingResult:
        chosen = ALWAYS_ON if kind == SpanKind.SERVER else ALWAYS_OFF
        return chosen.should_sample(parent_context, trace_id, name, kind, attributes, links,
                                    trace_state)

    def get_description(self) -> str:
        return "RequestsOnly"


class RedactingExporter(SpanExporter):
    """Hands the wrapped exporter copies of the spans with every string redacted."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([_redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)


def _clean(attributes: Any) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in (attributes or {}).items():
        if key in CLIENT_ADDRESS_KEYS:
            continue
        if isinstance(value, str):
            value = redact(value)
        elif isinstance(value, (tuple, list)):
            value = tuple(redact(item) if isinstance(item, str) else item for item in value)
        cleaned[key] = value
    return cleaned


def _redacted(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:
        status = Status(status.status_code, redact(status.description))
    return ReadableSpan(
        name=redact(span.name), context=span.context, parent=span.parent,
        resource=span.resource, attributes=_clean(span.attributes),
        events=[Event(event.name, _clean(event.attributes), event.timestamp)
                for event in span.events],
        links=span.links, kind=span.kind, status=status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )


def provider() -> TracerProvider:
    """This process's tracer provider, made on first use. Not set as the global one: FastAPI's
    own telemetry would start on a global provider, beside the instrumentation's."""
    global _provider
    with _lock:
        if _provider is None:
            attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {
                "service.name": SERVICE_NAME}
            sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ParentBased(
                RequestsOnly())
            _provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
            _provider.add_span_processor(BatchSpanProcessor(RedactingExporter(OTLPSpanExporter())))
        return _provider


def instrument_psycopg() -> None:
    global _psycopg_instrumented
    with _lock:
        if _psycopg_instrumented:
            return
        _psycopg_instrumented = True
    # Statements without their parameters (the default), and no comments added to the SQL.
    PsycopgInstrumentor().instrument(
        tracer_provider=provider(), enable_commenter=False, capture_parameters=False,
    )


def _request_span_started(span: Any, scope: Any) -> None:
    # A request that brought no id of its own takes its span's trace id: logs and traces agree.
    if span.is_recording():
        request_ids.replace_fresh(format_trace_id(span.get_span_context().trace_id))


def instrument_app(app: Any) -> None:
    """The FastAPI instrumentation's layer, just inside the request ids' one: the request id
    can then be the trace id of the span it opens."""
    traced = provider()

    def instrument(app: Any) -> None:
        FastAPIInstrumentor.instrument_app(
            app, tracer_provider=traced, server_request_hook=_request_span_started,
            # the ASGI messages' own spans (every body chunk) tell an operator nothing
            exclude_spans=["receive", "send"],
        )

    request_ids.install_inside(app, instrument)

