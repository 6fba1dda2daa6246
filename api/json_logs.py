"""One JSON object per log line (LEDGER_LOG_FORMAT=json), for log shippers and `jq`.

Each line holds `time` (ISO 8601, UTC, milliseconds), `level`, `logger`, `message`, the
`request_id` of the request that caused it (api/request_ids.py), an access line's `method`,
`route` (or `path`), `status` and `duration_ms`, and `exception` with its traceback.

The message, its arguments and the traceback were scrubbed when the record was made
(api/logging_setup.py); the access fields are added after that, so they are scrubbed here.
`ledger serve` and `ledger worker` configure logging through `dict_config`, so uvicorn's
records, the ledger's and every library's come out the same way.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from api.logging_setup import redact

# Fields an access line adds to its record (api/request_ids.py).
ACCESS_FIELDS = ("method", "route", "path", "status", "duration_ms")
_TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        fields = record.__dict__
        for name in ACCESS_FIELDS:
            if name in fields:
                value = fields[name]
                entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = redact(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr, one JSON object a line. Python's warnings are routed through logging too:
    written raw to stderr they would be lines a log shipper cannot parse."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())
        logging.captureWarnings(True)


def dict_config(log_format: str, level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for a process of the ledger: JSON lines on stderr, or
    (`text`) uvicorn's own format and "LEVEL logger: message" for everything else."""
    if log_format == "text":
        import copy

        from uvicorn.config import LOGGING_CONFIG

        config = copy.deepcopy(LOGGING_CONFIG)
        config["formatters"]["named"] = {"format": _TEXT_FORMAT}
        config["handlers"]["named"] = {
            "formatter": "named", "class": "logging.StreamHandler", "stream": "ext://sys.stderr",
        }
        config["root"] = {"handlers": ["named"], "level": level}
        return config
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"json": {"()": JsonLinesHandler}},
        "loggers": {
            "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
            "uvicorn.error": {"level": "INFO"},
            # The request ids' layer writes the access lines, with the route and duration;
            # a logger without handlers that does not propagate turns uvicorn's off.
            "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["json"], "level": level},
    }
