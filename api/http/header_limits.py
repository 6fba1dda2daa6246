"""Request heads that cost the server more than the caller, stopped in the HTTP server itself.

`ledger serve` runs uvicorn with this protocol: its httptools protocol, plus two limits that
uvicorn does not have.

- **Size**: a request line and headers over `LEDGER_MAX_HEADER_BYTES` (64 KiB) are answered
  431 and the connection is closed. httptools keeps a header in memory until it ends, so the
  raw bytes of a head that has not ended are counted too: a single endless header costs at
  most the limit plus one read from the socket.
- **Time**: a connection that has not sent a complete head within
  `LEDGER_HEADER_TIMEOUT_SECONDS` (10 s) of opening, or of starting its next request, is
  answered 408 and closed. Without it a client that sends one header byte every few seconds
  (slowloris) holds a connection for ever, and a few thousand of them hold them all.

Both answers are `application/problem+json`, like every other error of the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api import request_ids
from api.settings import get_settings

log = logging.getLogger("uvicorn.error")
# Per header line: ": " between name and value, CRLF after it.
LINE_OVERHEAD = 4
# The raw count also holds the request line's method, version and separators.
RAW_SLACK = 1024


class _HeadTooLarge(Exception):
    """Raised in a parser callback: httptools stops parsing and uvicorn calls
    `send_400_response`, which answers 431 instead."""


def _problem(status: int, detail: str, request_id: str) -> bytes:
    body = json.dumps(
        {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
         "detail": detail}
    ).encode()
    return b"".join((
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode(),
        b"content-type: application/problem+json\r\n",
        f"content-length: {len(body)}\r\n".encode(),
        f"x-request-id: {request_id}\r\n".encode(),
        b"connection: close\r\n\r\n",
        body,
    ))


class HeaderLimitedProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read here, not passed in: uvicorn makes the protocol from its config alone, and in
        # each worker process the settings come from the same environment.
        settings = get_settings()
        self.max_head_bytes = settings.max_header_bytes
        self.head_timeout = settings.header_timeout_seconds
        self._awaiting_head = True  # until the current request's headers are complete
        self._raw_head_bytes = 0  # bytes received while awaiting the head
        self._head_bytes = 0  # the URL and header lines parsed so far
        self._too_large = False
        self._head_timer: asyncio.TimerHandle | None = None

    # The connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._raw_head_bytes += len(data)
        super().data_received(data)
        if (
            self._awaiting_head and self._raw_head_bytes > self.max_head_bytes + RAW_SLACK
            and not self.transport.is_closing()
        ):
            self._refuse_too_large()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_bytes = 0
        if self._head_timer is None:  # a later request on a kept-alive connection
            self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + LINE_OVERHEAD)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True
        self._raw_head_bytes = 0

    # Refusals
    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            self._too_large = True
            raise _HeadTooLarge()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._refuse_too_large()
        else:
            super().send_400_response(msg)

    def _refuse_too_large(self) -> None:
        self._stop_head_timer()
        # The request never reaches the app: its id (api/request_ids.py) is chosen here.
        request_id, _ = request_ids.choose(self.headers or ())
        if self.client:
            with request_ids.bound(request_id):
                log.info("%s:%d - refused: request headers over %d bytes (431)",
                         *self.client, self.max_head_bytes)
        self.transport.write(_problem(
            431, f"the request line and headers are larger than {self.max_head_bytes} bytes "
            "in all; send fewer or smaller headers", request_id,
        ))
        self.transport.close()

    def _start_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        request_id, _ = request_ids.choose(self.headers or ())
        if self.client:
            with request_ids.bound(request_id):
                log.info("%s:%d - closed: no complete request headers within %s s",
                         *self.client, self.head_timeout)
        if self.cycle is None or self.cycle.response_complete:
            # Nothing else is being written on this connection: say why it closes.
            self.transport.write(_problem(
                408, f"the request headers did not arrive within {self.head_timeout} seconds",
                request_id,
            ))
        self.transport.close()
