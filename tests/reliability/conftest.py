"""Real processes for the reliability tests: `ledger serve` and `ledger worker` as subprocesses,
and (from throwaway_postgres.py) a PostgreSQL cluster that a test may stop, crash and start.

Every process of one test shares a data dir (so one master key, one signing key) and one auth
secret (so the test's tokens work everywhere). Each process is named, and the name travels to
PostgreSQL as its `application_name` (libpq reads PGAPPNAME), so a test can see in `pg_locks`
which process holds a lock. Output goes to a log file per process; `logs()` returns it for
failure messages.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import keyfiles
from api.http.auth import mint_token
from api.settings import Settings
from tests.conftest import make_settings
from tests.reliability.throwaway_postgres import (  # noqa: F401 (the fixture, and names tests import from here)
    ThrowawayPostgres,
    free_port,
    throwaway_postgres,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTH_SECRET = "reliability-tests-secret-of-at-least-32-bytes"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def conninfo(database_url: str) -> str:
    """libpq's key=value form of a postgresql:// URL, for psycopg.connect."""
    from projections.storage.postgres import postgres_parts

    return " ".join(f"{k}={v}" for k, v in postgres_parts(database_url).items() if v)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20.0,
               every: float = 0.05, context: Callable[[], str] = lambda: "") -> Any:
    """Poll `condition` until it returns something truthy (which is returned); fail naming
    `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}\n{context()}")
        time.sleep(every)


@dataclass
class LedgerProcess:
    """One `ledger` subprocess."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, f"{self.name} is not an API process"
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str | None = None, timeout: float = 30.0) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a machine dies."""
        if self.alive:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> bool:
        """SIGTERM and wait: the orderly shutdown. True when it shut down cleanly (uvicorn
        re-raises the signal after its graceful shutdown, so -SIGTERM counts for `serve`)."""
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            pytest.fail(f"{self.name} did not stop on SIGTERM\n{self.log()[-4000:]}")
        if self.port is not None:
            return code in (0, -signal.SIGTERM) and "Application shutdown complete" in self.log()
        return code == 0 and "worker stopped" in self.log()


@dataclass
class LedgerProcesses:
    """Starts `ledger` commands against the test's data dir; ends whatever is left at teardown."""

    base: Path
    settings_for: Callable[[str], Settings]
    started: list[LedgerProcess] = field(default_factory=list)

    def env(self, database_url: str, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PG"))}
        env.update(
            LEDGER_DATABASE_URL=database_url,
            LEDGER_DATA_DIR=str(self.base / "var"),
            LEDGER_AUTH_SECRET=AUTH_SECRET,
            LEDGER_POLL_INTERVAL_MS="50",
            LEDGER_CHECKPOINT_DELAY_SECONDS="2",
            PGAPPNAME=name,
            # The tree under test, whichever checkout that is, not only the installed one.
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def prepare(self, database_url: str) -> Settings:
        """Keys in the shared data dir and the tables in the store, before any process starts:
        several processes creating the same tables at once is what `ledger init` is for."""
        settings = self.settings_for(database_url)
        keyfiles.ensure_all(settings)
        done = self.cli(database_url, "init")
        assert done.returncode == 0, done.stdout
        return settings

    def _start(self, name: str, args: list[str], env: dict[str, str], port: int | None) -> LedgerProcess:
        log_path = self.base / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [sys.executable, "-m", "api.cli.main", *args], cwd=self.base, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        process = LedgerProcess(name, popen, log_path, port)
        self.started.append(process)
        return process

    def serve(
        self, name: str, database_url: str, *args: str, port: int | None = None, **extra: str
    ) -> LedgerProcess:
        port = port or free_port()
        return self._start(
            name, ["serve", "--host", "127.0.0.1", "--port", str(port), *args],
            self.env(database_url, name, **extra), port,
        )

    def worker(self, name: str, database_url: str, *args: str, **extra: str) -> LedgerProcess:
        return self._start(name, ["worker", *args], self.env(database_url, name, **extra), None)

    def cli(self, database_url: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "api.cli.main", *args], cwd=self.base,
            env=self.env(database_url, "ledger-cli", COLUMNS="200"),
            capture_output=True, text=True, timeout=timeout,
        )

    def wait_healthy(self, *processes: LedgerProcess, timeout: float = START_TIMEOUT) -> None:
        for process in processes:
            def healthy() -> bool:
                if not process.alive:
                    pytest.fail(f"{process.name} exited with {process.popen.returncode}\n{process.log()}")
                try:
                    return httpx.get(f"{process.url}/healthz", timeout=2).status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(healthy, f"{process.name} to answer /healthz", timeout, every=0.1,
                       context=process.log)

    def token(self, role: str, actor: str, tenant: object = None) -> str:
        return mint_token(self.settings_for("memory://"), role, actor, tenant=tenant, ttl=3600)

    def logs(self, tail: int = 3000) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.log()[-tail:]}" for p in self.started)

    def end_all(self) -> None:
        for process in self.started:
            if process.alive:
                process.popen.send_signal(signal.SIGKILL)
                process.popen.wait(timeout=STOP_TIMEOUT)


@pytest.fixture
def ledger_processes(tmp_path: Path) -> Iterator[LedgerProcesses]:
    def settings_for(database_url: str) -> Settings:
        return make_settings(database_url, tmp_path / "var", auth_secret=AUTH_SECRET)

    processes = LedgerProcesses(tmp_path, settings_for)
    try:
        yield processes
    finally:
        processes.end_all()
