"""`ledger serve` refuses request heads that cost it more than the caller: headers over
`LEDGER_MAX_HEADER_BYTES` in all are a 431, and a connection that has not sent its headers
within `LEDGER_HEADER_TIMEOUT_SECONDS` is closed (slowloris). Real server, raw sockets."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import LedgerProcess, LedgerProcesses

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 2.0
LIMIT = 64 * 1024


@pytest.fixture
def server(ledger_processes: LedgerProcesses, tmp_path: Path) -> Iterator[LedgerProcess]:
    url = f"sqlite:///{tmp_path}/ledger.sqlite"
    ledger_processes.prepare(url)
    process = ledger_processes.serve(
        "api", url, LEDGER_HEADER_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS)
    )
    ledger_processes.wait_healthy(process)
    yield process


def connect(server: LedgerProcess) -> socket.socket:
    assert server.port is not None
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def send_until_answered(sock: socket.socket, pieces: list[bytes]) -> None:
    """Send piece by piece, and stop as soon as the server answers: a server that answers
    and closes with our bytes still unread would reset the connection, answer and all."""
    for piece in pieces:
        if select.select([sock], [], [], 0.02)[0]:
            return
        try:
            sock.sendall(piece)
        except OSError:
            return


def read_all(sock: socket.socket, within: float = 10.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(within)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def header_lines(total: int) -> list[bytes]:
    line = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    return [line] * (total // len(line) + 1)


def test_headers_over_64_kib_in_all_are_refused_with_431_and_what_to_do(
    server: LedgerProcess,
) -> None:
    with connect(server) as sock:
        pieces = [b"GET /healthz HTTP/1.1\r\nHost: ledger\r\n", *header_lines(LIMIT + 4096)]
        send_until_answered(sock, [*pieces, b"\r\n"])
        answer = read_all(sock)

    status, body = status_and_body(answer)
    assert status == 431, answer[:300]
    assert b"application/problem+json" in answer.split(b"\r\n\r\n")[0]
    problem = json.loads(body)
    assert problem["status"] == 431 and "send fewer or smaller headers" in problem["detail"]


def test_one_endless_header_is_refused_before_it_ends(server: LedgerProcess) -> None:
    with connect(server) as sock:
        start = b"GET /healthz HTTP/1.1\r\nHost: ledger\r\nX-Endless: "
        send_until_answered(sock, [start, *[b"a" * 8192] * 64])  # 512 KiB, never ended
        answer = read_all(sock)
    assert status_and_body(answer)[0] == 431, answer[:300]


def test_headers_under_the_limit_are_served_as_usual(server: LedgerProcess) -> None:
    with connect(server) as sock:
        head = b"".join(header_lines(LIMIT - 8 * 1024))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ledger\r\nConnection: close\r\n" + head
                     + b"\r\n")
        answer = read_all(sock)
    assert status_and_body(answer)[0] == 200, answer[:300]


def test_a_connection_that_trickles_its_headers_is_closed_after_the_timeout(
    server: LedgerProcess,
) -> None:
    with connect(server) as sock:
        opened = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: ledger\r\n")
        for number in range(100):  # one header line every 0.2 s, never the blank line
            time.sleep(0.2)
            try:
                sock.sendall(b"X-Slow-%d: a\r\n" % number)
            except OSError:
                break
            if select.select([sock], [], [], 0)[0]:
                break
        answer = read_all(sock)
        closed_after = time.monotonic() - opened

    assert TIMEOUT_SECONDS - 0.5 <= closed_after < TIMEOUT_SECONDS + 5, closed_after
    assert answer == b"" or status_and_body(answer)[0] == 408, answer[:300]
    assert server.alive


def test_a_connection_that_sends_nothing_is_closed_too(server: LedgerProcess) -> None:
    with connect(server) as sock:
        opened = time.monotonic()
        answer = read_all(sock, within=TIMEOUT_SECONDS + 5)
        assert time.monotonic() - opened >= TIMEOUT_SECONDS - 0.5
    assert status_and_body(answer)[0] == 408, answer[:300]


def test_a_slow_client_that_completes_its_headers_in_time_is_answered(
    server: LedgerProcess,
) -> None:
    with connect(server) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: ledger\r\n",
                      b"Connection: close\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.1)
        answer = read_all(sock)
    assert status_and_body(answer)[0] == 200, answer[:300]
