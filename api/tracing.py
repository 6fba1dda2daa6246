"""OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then every request and every PostgreSQL statement
is a span, sent over OTLP/HTTP (api/otel_traces.py does it).

Off, nothing of the OpenTelemetry SDK, exporter or instrumentations is imported, and no
tracer provider is set. (FastAPI itself imports the OpenTelemetry API, which without a
provider does nothing.)
"""

from __future__ import annotations

import os
from typing import Any

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def enabled() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def before_stores() -> None:
    """Trace psycopg's connections: called before the stores open theirs, since only
    connections opened after this are traced."""
    if enabled():
        from api import otel_traces

        otel_traces.instrument_psycopg()


def install(app: Any, settings: Any) -> None:
    """Trace the app's requests (when traces are on)."""
    if enabled():
        from api import otel_traces

        otel_traces.instrument_app(app)
