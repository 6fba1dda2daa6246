"""The servers the HTTP figures load, each in processes of its own on a free loopback port:
`ledger serve` (with a `ledger worker` beside it on PostgreSQL) and the ceiling
(`bench/ceiling.py`), started the same way and waited for on `/healthz`."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.stores import Scratch

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(scratch: Scratch, workers: int) -> Iterator[str]:
    """`ledger serve` until the block ends. On PostgreSQL as docs/deploy.md deploys it: API
    processes that only answer, and the projections and the sealer in a `ledger worker` of their
    own (inside a busy API process they wait for its lock on the interpreter, and the read
    models fall behind). SQLite serves it all in one."""
    port = free_port()
    env = {**os.environ, **scratch.env(), "LEDGER_LOG_LEVEL": "warning",
           "LEDGER_POLL_INTERVAL_MS": "20"}
    with ExitStack() as stack:
        if scratch.store == "postgres":
            env["LEDGER_RUN_WORKERS"] = "false"
            stack.enter_context(_process([sys.executable, "-m", "api.cli.main", "worker"], env))
        stack.enter_context(_process(
            [sys.executable, "-m", "api.cli.main", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers)], env, answers_at=port,
        ))
        yield f"http://127.0.0.1:{port}"


@contextmanager
def ceiling(workers: int) -> Iterator[tuple[str, str]]:
    """The trivial JWT-checked endpoint, served as the ledger is; yields its URL and a token it
    accepts."""
    import jwt

    secret = secrets.token_urlsafe(32)
    token = jwt.encode({"sub": "bench-load", "role": "system", "exp": int(time.time()) + 86400},
                       secret, algorithm="HS256")
    port = free_port()
    env = {**os.environ, "BENCH_CEILING_SECRET": secret}
    with _process([sys.executable, "-m", "bench.ceiling", "--port", str(port), "--workers",
                   str(workers)], env, answers_at=port):
        yield f"http://127.0.0.1:{port}", token


@contextmanager
def _process(command: list[str], env: dict[str, str], answers_at: int | None = None
             ) -> Iterator[subprocess.Popen[bytes]]:
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        if answers_at is not None:
            _wait_for(process, f"http://127.0.0.1:{answers_at}/healthz", log, command)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for(process: subprocess.Popen[bytes], url: str, log: Any, command: list[str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{' '.join(command[2:4])} ended: {log.read()[-500:].decode()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{' '.join(command[2:4])} did not answer within 60 s")
        time.sleep(0.2)
