"""deploy/local.sh, run as an operator would on one machine: `start` makes a PostgreSQL primary
and a streaming replica, runs `ledger init`, and starts one `ledger serve --workers 2` (writes
to the primary, GETs from the replica) and two `ledger worker`s, all under LEDGER_DEPLOY_DIR on
the ports given; a second `start` changes nothing; `stop` leaves nothing running.

The test uses free ports and a directory of its own, and stops (or at worst kills) whatever the
script started even when an assertion fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import IN_CI
from tests.reliability.conftest import REPO_ROOT, free_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SCRIPT = REPO_ROOT / "deploy" / "local.sh"
SCRIPT_TIMEOUT = 300  # a start on a busy machine: two clusters, a base backup, three processes


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    api_port: int
    primary_port: int
    replica_port: int
    metrics_ports: tuple[int, int, int]

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(SCRIPT), command], env=self.env, cwd=self.home.parent,
            capture_output=True, text=True, timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL,
        )

    def database(self, port: int) -> psycopg.Connection:
        return psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=ledger",
                               autocommit=True)

    @property
    def ports(self) -> list[int]:
        return [self.api_port, self.primary_port, self.replica_port, *self.metrics_ports]

    def ledger_pids(self) -> dict[str, int]:
        return {path.stem: int(path.read_text()) for path in (self.home / "run").glob("*.pid")}

    def postmaster_pids(self) -> list[int]:
        files = [self.home / "pg" / name / "postmaster.pid" for name in ("primary", "replica")]
        return [int(f.read_text().split()[0]) for f in files if f.exists()]

    def logs(self) -> str:
        found = [*sorted((self.home / "log").glob("*.log")),
                 *sorted((self.home / "pg").glob("*.log"))]
        return "\n".join(f"--- {f.name} ---\n{f.read_text(errors='replace')[-3000:]}"
                         for f in found)


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, session, ...]; [] once gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def running(pid: int) -> bool:
    return _stat(pid)[:1] not in ([], ["Z"], ["X"])


def started_by(deployment: Deployment) -> set[int]:
    """Every live process of the deployment: the ledger processes with everything in their
    sessions (uvicorn's workers), and each postmaster with its children."""
    leaders = set(deployment.ledger_pids().values())
    postmasters = set(deployment.postmaster_pids())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and (int(stat[3]) in leaders or int(stat[1]) in postmasters):
                found.add(int(entry.name))
    return {pid for pid in found | leaders | postmasters if running(pid)}


def port_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_ports() -> tuple[list[int], tuple[int, int, int]]:
    """Three different free ports (API, primary, replica), and three free ones in a row for the
    metrics (the script gives the workers the two after the API's)."""
    single: list[int] = []
    while len(single) < 3:
        if (port := free_port()) not in single:
            single.append(port)
    for _ in range(100):
        base = free_port()
        run = (base, base + 1, base + 2)
        if base < 65533 and not set(run) & set(single) and not any(map(port_answers, run[1:])):
            return single, run
    raise AssertionError("no three free ports in a row")


def _kill_what_is_left(deployment: Deployment) -> None:
    """When `stop` itself failed: nothing of the test may outlive it."""
    for pid in deployment.ledger_pids().values():
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in deployment.postmaster_pids():
        try:
            os.kill(pid, signal.SIGQUIT)  # PostgreSQL's immediate shutdown
        except OSError:
            pass
    wait_until(lambda: not started_by(deployment), "the deployment's processes to end", 30)


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    if not sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb")) and not shutil.which("initdb"):
        message = "deploy/local.sh needs PostgreSQL's initdb and pg_ctl (the postgresql package)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    # Not under pytest's tmp_path, whose parents are private to root: when the script runs as
    # root, PostgreSQL runs as the `postgres` user and must reach its folders.
    home = Path(tempfile.mkdtemp(prefix="ledger-deploy-"))
    home.chmod(0o755)
    # The script makes its directory itself.
    (api, primary, replica), metrics = free_ports()
    deployment = Deployment(home / "deploy", {}, api, primary, replica, metrics)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PG"))}
    env.update(
        LEDGER_DEPLOY_DIR=str(deployment.home),
        LEDGER_DEPLOY_API_PORT=str(deployment.api_port),
        LEDGER_DEPLOY_PRIMARY_PORT=str(deployment.primary_port),
        LEDGER_DEPLOY_REPLICA_PORT=str(deployment.replica_port),
        LEDGER_DEPLOY_METRICS_PORT=str(deployment.metrics_ports[0]),
    )
    deployment.env = env
    try:
        yield deployment
    finally:
        try:
            deployment.run("stop")
        finally:
            if started_by(deployment):
                _kill_what_is_left(deployment)
            shutil.rmtree(home, ignore_errors=True)


def token_from(start_output: str, env: dict[str, str]) -> str:
    """Runs the token command that `start` printed, as an operator would copy it."""
    line = next(line for line in start_output.splitlines() if line.strip().startswith("a token"))
    command = line.strip().removeprefix("a token").strip()
    made = subprocess.run(command, shell=True, env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_the_deploy_script_starts_a_primary_a_streaming_replica_and_the_ledger_and_stops_them_all(
    deployment: Deployment,
) -> None:
    started = deployment.run("start")
    assert started.returncode == 0, f"{started.stdout}\n{started.stderr}\n{deployment.logs()}"
    api = f"http://127.0.0.1:{deployment.api_port}"
    assert api in started.stdout, started.stdout
    assert httpx.get(f"{api}/healthz", timeout=10).status_code == 200

    # The replica streams from the primary, through its slot, and is a hot standby.
    with deployment.database(deployment.primary_port) as primary:
        replication = primary.execute(
            "SELECT r.application_name, r.state, s.slot_name FROM pg_stat_replication r "
            "LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid").fetchall()
    assert replication == [("replica", "streaming", "ledger_replica")]
    with deployment.database(deployment.replica_port) as replica:
        assert replica.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)

    # A write through the API's port is read back with its position; the API reads from the
    # replica, whose read models have the write.
    officer = {"Authorization": f"Bearer {token_from(started.stdout, deployment.env)}"}
    with httpx.Client(base_url=api, headers=officer, timeout=30) as client:
        made = client.post("/v1/tenants", json={"name": "Deployed B.V."})
        assert made.status_code == 201, made.text
        written = made.json()
        read = client.get(f"/v1/tenants/{written['id']}",
                          params={"min_position": written["position"]})
        assert read.status_code == 200, f"{read.text}\n{deployment.logs()}"
        assert read.json()["name"] == "Deployed B.V."
    with deployment.database(deployment.replica_port) as replica:
        readers = replica.execute("SELECT count(*) FROM pg_stat_activity "
                                  "WHERE application_name = 'ledger-api' AND datname = 'ledger'")
        assert readers.fetchone()[0] > 0, "the API does not read from the replica"
        wait_until(lambda: replica.execute(
            "SELECT count(*) FROM projection_tracking WHERE position < %s",
            (written["position"],)).fetchone() == (0,),
            "the replica's read models to reach the write", context=deployment.logs)

    # Each process's metrics port: the API's (its two workers together) and each worker's.
    for port in deployment.metrics_ports:
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert answer.status_code == 200, f"port {port}: {answer.status_code}"
        assert list(text_string_to_metric_families(answer.text)), f"port {port}: no metrics"

    status = deployment.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "streaming" in status.stdout

    # A second start finds everything running: the same processes, still one replica.
    before = deployment.ledger_pids()
    again = deployment.run("start")
    assert again.returncode == 0, again.stdout + again.stderr
    assert deployment.ledger_pids() == before
    with deployment.database(deployment.primary_port) as primary:
        assert primary.execute("SELECT count(*) FROM pg_stat_replication").fetchone() == (1,)

    # Stop: nothing is left, every port is free, and stopping again is fine.
    processes = started_by(deployment)
    assert len(processes) > len(before) + 2, processes  # uvicorn's workers and PostgreSQL's
    stopped = deployment.run("stop")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not [pid for pid in processes if running(pid)], deployment.logs()
    assert not [port for port in deployment.ports if port_answers(port)]
    assert not deployment.ledger_pids() and not deployment.postmaster_pids()
    assert deployment.run("stop").returncode == 0
    after = deployment.run("status")
    assert after.returncode == 3 and "running" not in after.stdout, after.stdout
