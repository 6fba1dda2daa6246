"""`BodyLimits` (api/http/limits.py) on its own, driven as ASGI middleware with the messages a server
sends: a body is refused at one byte over the limit and admitted at the limit, a declared
length is refused before a byte is read, an admitted body reaches the application exactly as
sent (then what the server sends next), a client that goes away mid-body runs nothing, only
JSON bodies are judged for depth, and every other kind of traffic passes untouched. Found by
`make mutate`: off-by-ones, the ASGI defaults of a message's keys, the content types judged,
and the middleware's own entry point (the app calls `admit` from its guard) were untested."""

from __future__ import annotations

from typing import Any

import pytest

from api.http.limits import BodyLimits, nested_deeper_than
from tests.conftest import run_in_a_loop_of_its_own

Message = dict[str, Any]
DISCONNECT = {"type": "http.disconnect"}


class _Recorder:
    """An application that records the first two messages it receives (or, for other
    traffic, that it was called) and answers 204."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            self.calls.append((scope["type"], receive))
            await send({"type": f"{scope['type']}.answered"})
            return
        self.calls.append(("http", [await receive(), await receive()]))
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _drive(limits: BodyLimits, headers: list[tuple[bytes, bytes]],
           messages: list[Message]) -> list[Message]:
    """One POST through `limits`: the server hands out `messages`, then a disconnect."""
    scope = {
        "type": "http", "method": "POST", "path": "/things", "root_path": "", "query_string": b"",
        "scheme": "http", "server": ("testserver", 80), "headers": headers,
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else DISCONNECT

    async def send(message: Message) -> None:
        sent.append(message)

    run_in_a_loop_of_its_own(limits, scope, receive, send)
    return sent


def _declared(body: bytes, content_type: bytes = b"application/json") -> list[tuple[bytes, bytes]]:
    return [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]


CHUNKED = [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]


def _status(sent: list[Message]) -> int:
    return sent[0]["status"]


# --- size ------------------------------------------------------------------------------------


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read() -> None:
    app = _Recorder()

    async def must_not_be_read() -> Message:
        raise AssertionError("the body was read")

    scope = {"type": "http", "method": "POST", "path": "/things", "root_path": "",
             "query_string": b"", "headers": _declared(b"x" * 11)}
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    run_in_a_loop_of_its_own(BodyLimits(app, max_bytes=10, max_depth=2), scope, must_not_be_read, send)
    assert _status(sent) == 413 and app.calls == []


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "chunked"])
def test_a_body_of_exactly_the_limit_is_admitted_and_one_byte_more_is_not(declared: bool) -> None:
    for body, status in ((b'"' + b"a" * 8 + b'"', 204), (b'"' + b"a" * 9 + b'"', 413)):
        app = _Recorder()
        halves = [{"type": "http.request", "body": body[:5], "more_body": True},
                  {"type": "http.request", "body": body[5:], "more_body": False}]

        sent = _drive(BodyLimits(app, 10, 2), _declared(body) if declared else CHUNKED, halves)

        assert _status(sent) == status, (len(body), sent)
        assert len(app.calls) == (status == 204)


def test_a_chunked_body_is_counted_whatever_other_headers_come_with_it() -> None:
    app = _Recorder()
    parts = [{"type": "http.request", "body": b"[1, 2, 3]", "more_body": True}] * 3

    assert _status(_drive(BodyLimits(app, 20, 2), CHUNKED, parts)) == 413
    assert app.calls == []


# --- what the application receives -----------------------------------------------------------


def test_an_admitted_body_reaches_the_app_as_sent_then_what_the_server_sends_next() -> None:
    app = _Recorder()
    body = b'{"a": [1]}'

    sent = _drive(BodyLimits(app, 100, 2), _declared(body), [
        {"type": "http.request", "body": body[:4], "more_body": True},
        {"type": "http.request", "body": body[4:], "more_body": False},
    ])

    assert _status(sent) == 204
    assert app.calls == [("http", [
        {"type": "http.request", "body": body, "more_body": False}, DISCONNECT,
    ])]


def test_messages_without_the_keys_asgi_lets_a_server_leave_out_are_read_with_their_defaults(
) -> None:
    app = _Recorder()  # `body` defaults to b"", `more_body` to False
    messages = [{"type": "http.request", "body": b"[1]", "more_body": True},
                {"type": "http.request", "more_body": True},
                {"type": "http.request", "body": b""}]

    assert _status(_drive(BodyLimits(app, 100, 2), CHUNKED, messages)) == 204
    assert app.calls[0][1][0]["body"] == b"[1]"


def test_a_client_gone_in_the_middle_of_its_body_runs_nothing_and_gets_no_answer() -> None:
    app = _Recorder()
    half = [{"type": "http.request", "body": b'{"a": ', "more_body": True}, DISCONNECT]

    assert _drive(BodyLimits(app, 100, 2), CHUNKED, half) == []
    assert app.calls == []


# --- depth -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type, judged", [
    (None, True), (b"application/json", True), (b"Application/JSON; charset=utf-8", True),
    (b"application/json; charset=utf-8; profile=x", True), (b"application/problem+json", True),
    (b"text/plain", False), (b"application/x-www-form-urlencoded", False),
])
def test_json_bodies_and_bodies_without_a_type_are_judged_for_depth_and_others_are_not(
    content_type: bytes | None, judged: bool
) -> None:
    app = _Recorder()
    body = b"[[[[1]]]]"
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type))

    sent = _drive(BodyLimits(app, 100, 3), headers, [{"type": "http.request", "body": body}])

    assert _status(sent) == (422 if judged else 204)


def test_the_depth_is_the_deepest_nesting_not_the_number_of_brackets() -> None:
    exactly = b"[" + b"[]," * 40 + b"[" * 63 + b"1" + b"]" * 64  # 144 brackets, 64 deep
    assert not nested_deeper_than(exactly, 64)
    assert nested_deeper_than(b"[" + exactly + b"]", 64)
    # closed siblings before a deep part do not hide its depth
    assert nested_deeper_than(b"[" * 40 + b"[]," * 20 + b"[" * 30 + b"1" + b"]" * 70, 64)
    assert nested_deeper_than(b"[" * 60 + b"[]," + b"[" * 10 + b"1" + b"]" * 70, 64)


# --- other traffic ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lifespan", "websocket"])
def test_other_traffic_passes_to_the_app_once_as_it_came(kind: str) -> None:
    app = _Recorder()
    limits = BodyLimits(app, max_bytes=10, max_depth=2)
    scope = {"type": kind, "path": "/things", "headers": [(b"transfer-encoding", b"chunked")]}
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the middleware must not read another protocol's messages")

    async def send(message: Message) -> None:
        sent.append(message)

    run_in_a_loop_of_its_own(limits, scope, receive, send)

    assert app.calls == [(kind, receive)] and sent == [{"type": f"{kind}.answered"}]
