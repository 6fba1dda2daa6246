"""Limits on what a request body may be, checked before any route (or JSON parser) sees it.

- **Size**: a body over `max_bytes` is answered 413. A declared `Content-Length` over the
  limit is refused before a byte is read; a body without one (chunked) is counted as it
  streams and refused as soon as it passes the limit, so nobody can make the process buffer
  more than `max_bytes` of a request.
- **Depth**: a JSON body nested deeper than `max_depth` arrays and objects is answered 422
  naming the body. Python's JSON parser recurses, so ten thousand `[` would otherwise end in
  a RecursionError (or a stack far deeper than any real body needs); the depth is counted
  here without recursion, on the bytes, strings skipped.

Both answers are `application/problem+json`, like every other error of the API.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request

from api.http.problems import FieldProblem, problem_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON string: a quote, then anything but a quote or backslash, or an escape, then a quote.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def nested_deeper_than(body: bytes, limit: int) -> bool:
    """Whether the JSON text `body` opens more than `limit` arrays or objects inside each
    other. Brackets inside strings do not count. Invalid JSON may be judged either way: the
    parser refuses it anyway."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be deeper than the number of brackets: the usual case, cheap
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for byte in brackets:
        if byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _is_json(content_type: str | None) -> bool:
    # FastAPI parses a body without a content type as JSON too.
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class BodyLimits:
    """ASGI middleware: reads the body (up to `max_bytes`), judges it, then hands the same
    bytes to the application."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        admitted = await self.admit(scope, receive, send)
        if admitted is not None:
            await self.app(scope, admitted, send)

    async def admit(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The `receive` to run the application with, or None when the request was answered
        here (413, 422) or the client went away while sending it."""
        declared = content_type = b""
        chunked = False
        for name, value in scope.get("headers", ()):
            name = name.lower()
            if name == b"content-length":
                declared = value.strip()
            elif name == b"content-type":
                content_type = value
            elif name == b"transfer-encoding":
                chunked = True
        if not chunked and declared in (b"", b"0"):
            # No body (most requests: every GET): nothing to count or judge, nothing to replay.
            return receive
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return None
        try:
            body = await self._read(receive)
        except _TooLarge:
            await self._too_large(scope, receive, send)
            return None
        except _ClientGone:
            return None
        if body and _is_json(content_type.decode("latin-1")) and nested_deeper_than(
            body, self.max_depth
        ):
            detail = f"is nested deeper than {self.max_depth} levels of arrays and objects"
            response = problem_response(
                Request(scope), 422, f"body: {detail}",
                errors=[FieldProblem(field="body", location="body", detail=detail)],
            )
            await response(scope, receive, send)
            return None
        return _replay(body, receive)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise _TooLarge()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope), 413,
            f"the request body is larger than {self.max_bytes} bytes; send less",
            headers={"Connection": "close"},  # the rest of the body is never read
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then what the server sends next (a
    disconnect, which streaming responses listen for)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
