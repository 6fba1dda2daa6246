"""A PostgreSQL cluster of a test's own (initdb/pg_ctl on a free port), which the test may
stop, crash and start: the outage tests' database."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


@dataclass
class ThrowawayPostgres:
    """A cluster in a temporary directory on its own port, run as the `postgres` OS user
    (initdb refuses root). Stop, crash and start it at will; `url` stays valid throughout.

    It is as durable as production (fsync, synchronous_commit and full_page_writes on), so a
    crash loses exactly what was acknowledged before it was on the disk. What decides whether a
    test sees such a loss is the WAL writer: it writes an asynchronous commit out within
    milliseconds, and a crash loses only the part of a WAL page it had not reached yet.
    `pause_wal_writer()` stops it, so that until the crash every asynchronous commit stays in
    memory and is lost for certain; a synchronous commit writes and flushes the WAL itself and
    is not affected. (The background writer, which flushes the WAL before each data page it
    writes, writes no pages at all; the WAL buffers hold far more than a test writes.)"""

    bin: Path
    home: Path
    port: int
    run_as: list[str]
    paused: int | None = None  # the WAL writer's pid while it is stopped

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, str(self.bin / args[0]), *args[1:]],
            capture_output=True, text=True, timeout=60, check=check,
        )

    def init(self) -> None:
        # --no-sync: initdb's files need only survive PostgreSQL's crashes, not the machine's.
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                 "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=on -c synchronous_commit=on "
            "-c full_page_writes=on -c wal_buffers=64MB -c bgwriter_lru_maxpages=0"
        )
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.home / "server.log"),
                 "-o", options, "-w", "-t", "30", "start")

    def pause_wal_writer(self) -> None:
        pid = self.postmaster_pid()
        assert pid is not None, "the cluster is not running"
        writers = [c for c in _children_of(pid) if _command(c).startswith("postgres: walwriter")]
        assert len(writers) == 1, f"no single WAL writer among the postmaster's children: {writers}"
        self.paused = writers[0]
        os.kill(self.paused, signal.SIGSTOP)  # as root: the cluster runs as the `postgres` user

    def stop(self, mode: str = "fast") -> None:
        """`fast`: every session is ended at once (rolled back) and a shutdown checkpoint writes
        everything out, as in a restart or failover. `immediate`: every process quits at once,
        nothing is written, and the next start recovers from the WAL, as after a crash."""
        writer, self.paused = self.paused, None
        if writer is None or mode != "immediate":
            if writer is not None:
                os.kill(writer, signal.SIGCONT)
            self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop",
                     check=False)
            return
        # The paused WAL writer must quit without writing: it is let go only once the order
        # to quit is waiting for it, which it then obeys before doing anything else.
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-W", "stop", check=False)
        _wait(lambda: _pending(writer, signal.SIGQUIT) or not _running(writer),
              "the WAL writer to be told to quit")
        os.kill(writer, signal.SIGCONT)
        _wait(lambda: not (self.data / "postmaster.pid").exists(), "PostgreSQL to stop")

    def crash(self) -> None:
        """SIGKILL the postmaster, as the kernel's OOM killer would. Its children notice and
        quit by themselves (a paused WAL writer cannot: it is killed too, having written
        nothing); the next start must wait for them all, since PostgreSQL refuses to start while
        any of them still holds the old shared memory."""
        pid = self.postmaster_pid()
        assert pid is not None, "the cluster is not running"
        children = _children_of(pid)
        os.kill(pid, signal.SIGKILL)
        if self.paused is not None:
            os.kill(self.paused, signal.SIGKILL)
            self.paused = None
        deadline = time.monotonic() + STOP_TIMEOUT
        while (left := [c for c in children if _running(c)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        for child in left:  # one that would not notice: the crash takes it too
            os.kill(child, signal.SIGKILL)
        _wait(lambda: not any(_running(c) for c in [pid, *children]),
              "PostgreSQL's processes to end")
        # The dead postmaster stays a zombie until its new parent (PID 1) reaps it, and a start
        # takes a zombie's pid in postmaster.pid for a live postmaster: the lock file is stale
        # once every process of the cluster is dead, so it goes if the reaping is slow.
        try:
            _wait(lambda: not _stat(pid), "the dead postmaster to be reaped", timeout=5)
        except TimeoutError:
            (self.data / "postmaster.pid").unlink(missing_ok=True)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def server_log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; [] once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _children_of(pid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and _stat(int(p.name))[1:2] == [str(pid)]]


def _running(pid: int) -> bool:
    """Alive and not a zombie: a dead child whose new parent does not reap it still has a /proc
    entry, but holds no shared memory."""
    return _stat(pid)[:1] not in ([], ["Z"], ["X"])


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _pending(pid: int, signum: int) -> bool:
    """Is `signum` delivered to `pid` but not yet acted on (it is stopped)?"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    masks = [int(line.split()[1], 16) for line in status.splitlines()
             if line.startswith(("SigPnd:", "ShdPnd:"))]
    return any(mask & (1 << (signum - 1)) for mask in masks)


def _wait(condition: Callable[[], Any], what: str, timeout: float = STOP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _cannot_run_postgres(reason: str) -> None:
    message = f"cannot run a throwaway PostgreSQL cluster: {reason}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    binaries = _postgres_bin()
    if binaries is None or not (binaries / "initdb").exists():
        _cannot_run_postgres("initdb and pg_ctl not found (install the postgresql package)")
    assert binaries is not None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            _cannot_run_postgres("running as root and runuser is missing")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            _cannot_run_postgres("running as root and there is no `postgres` user to run it as")
        run_as = [str(runuser), "-u", "postgres", "--"]
    else:
        owner, run_as = None, []
    # Not under pytest's tmp_path: its parents are private to root, and the socket path must
    # stay short.
    home = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
    if owner is not None:
        os.chown(home, owner.pw_uid, owner.pw_gid)
    cluster = ThrowawayPostgres(binaries, home, free_port(), run_as)
    try:
        try:
            cluster.init()
            cluster.start()
        except subprocess.CalledProcessError as error:
            _cannot_run_postgres(f"{error.cmd[-1]} failed: {error.stderr or error.stdout}")
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(home, ignore_errors=True)
