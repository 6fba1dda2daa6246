"""A primary and its streaming replica, both clusters of the test's own: the replica made with
`pg_basebackup -R` from the running primary and started on a port of its own, as an operator
makes one. Its WAL replay can be paused and resumed, and it can be stopped and started."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.reliability.throwaway_postgres import ThrowawayPostgres, free_port
from tests.reliability.conftest import conninfo, wait_until


@dataclass
class Replicated:
    primary: ThrowawayPostgres
    replica: ThrowawayPostgres

    def _sql(self, url: str, statement: str) -> object:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            row = conn.execute(statement).fetchone()
        return row[0] if row else None

    def pause_replay(self) -> None:
        self._sql(self.replica.url, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self._sql(self.replica.url, "SELECT pg_wal_replay_resume()")

    def caught_up(self) -> None:
        """Until the replica has replayed everything the primary has written by now."""
        target = self._sql(self.primary.url, "SELECT pg_current_wal_lsn()::text")
        wait_until(
            lambda: self._sql(
                self.replica.url, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
            ),
            "the replica to replay the primary's WAL", timeout=30,
        )

    def streaming(self) -> bool:
        return bool(self._sql(
            self.primary.url, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
        ))


@pytest.fixture
def replicated(throwaway_postgres: ThrowawayPostgres) -> Iterator[Replicated]:
    primary = throwaway_postgres
    home = Path(tempfile.mkdtemp(prefix="ledger-replica-"))
    owner = primary.home.stat()
    os.chown(home, owner.st_uid, owner.st_gid)
    replica = ThrowawayPostgres(primary.bin, home, free_port(), primary.run_as)
    try:
        primary._pg(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "--no-sync",
        )
        replica.start()
        pair = Replicated(primary, replica)
        wait_until(pair.streaming, "the replica to stream from the primary", timeout=30)
        yield pair
    finally:
        replica.stop("immediate")
        shutil.rmtree(home, ignore_errors=True)
