"""Durable consent writes through the Ledger with concurrent callers, against what PostgreSQL
itself does: single-row inserts, one transaction each, from 4 connections (pgbench when it is
installed, the C client the issue's ceiling was measured with; else psycopg threads), in the
same database, in the same run. The Ledger is measured with group commit and without it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.results import Results, at_least
from bench.sizes import Sizes
from bench.stores import Scratch

FIGURE = "durable consent writes via Ledger ÷ raw inserts"
RAW_TABLE = "bench_raw_inserts"
# About the size of a stored ConsentGiven event.
RAW_STATE = b'{"purpose":"info_mail","channel":"email","notice_version":"2026-01",' \
    b'"method":"web_form","actor":"crm","ip_address":null,"timestamp":' \
    b'{"_type_":"datetime_iso","_data_":"2026-01-05T09:00:00+00:00"}}'


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    store = scratch.store
    with scratch.opened() as stores:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Bench B.V.", "olga").aggregate.id
        if store == "postgres":
            _create_raw_table(scratch)
        for run in range(sizes.runs):
            with_group = _ledger_writes(ledger, tenant, sizes, group_commit=True)
            without = _ledger_writes(ledger, tenant, sizes, group_commit=False)
            results.add("Ledger consent writes/s, group commit", store, with_group, "/s",
                        note=f"{sizes.callers} callers")
            results.add("Ledger consent writes/s, one commit per write", store, without, "/s",
                        note=f"{sizes.callers} callers")
            results.add("group commit gain (same run)", store, with_group / without, "×")
            if store == "postgres":
                raw, how = raw_inserts(scratch, sizes)
                results.add(f"raw single-row inserts/s ({how})", store, raw, "/s",
                            note=f"{sizes.raw_connections} connections")
                results.add(FIGURE, store, with_group / raw, "", at_least(0.5),
                            note=f"{sizes.callers} callers ÷ {sizes.raw_connections} connections")
            log(f"{store} writes run {run + 1}: {with_group:.0f}/s with group commit, "
                f"{without:.0f}/s without")


def _subjects(ledger: Any, tenant: UUID, count: int) -> list[UUID]:
    return [
        ledger.register_subject("Bench Person", f"b{i}@example.org", "crm", tenant_id=tenant)
        .aggregate.id
        for i in range(count)
    ]


def _ledger_writes(ledger: Any, tenant: UUID, sizes: Sizes, *, group_commit: bool) -> float:
    """Writes/s of `sizes.writes` consent commands from `sizes.callers` threads, each on its
    own subjects (as visitors of different sites would be)."""
    from domain.ledger.group_commit import GroupCommitter

    saved = ledger.group_commit
    ledger.group_commit = (saved or GroupCommitter(ledger._put)) if group_commit else None
    try:
        per_caller = max(1, sizes.writes // sizes.callers)
        owned = [_subjects(ledger, tenant, min(20, max(2, per_caller // 4)))
                 for _ in range(sizes.callers)]
        errors: list[BaseException] = []
        start = threading.Barrier(sizes.callers + 1)

        def caller(number: int) -> None:
            mine = owned[number]
            start.wait()
            try:
                for i in range(per_caller):
                    subject = mine[i % len(mine)]
                    if i % 4 == 3:
                        ledger.withdraw_consent(subject, "info_mail", "unsubscribe_link", "crm")
                    else:
                        ledger.give_consent(subject, "info_mail", "web_form", "2026-01", "crm",
                                            channel="email")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(sizes.callers)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if errors:
            raise errors[0]
        return per_caller * sizes.callers / elapsed
    finally:
        ledger.group_commit = saved


def _create_raw_table(scratch: Scratch) -> None:
    import psycopg

    with psycopg.connect(scratch.pg_conninfo, autocommit=True) as conn:
        # Shaped like the events table: a uuid, a version, a topic, the state, a bigserial.
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (originator_id uuid NOT NULL, "
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {RAW_TABLE}_id ON {RAW_TABLE} "
                     "(notification_id)")


def raw_inserts(scratch: Scratch, sizes: Sizes) -> tuple[float, str]:
    """Single-row inserts/s, one transaction each, `raw_connections` clients."""
    if shutil.which("pgbench"):
        return _pgbench(scratch, sizes), "pgbench"
    return _psycopg_inserts(scratch, sizes), "psycopg threads"


def _pgbench(scratch: Scratch, sizes: Sizes) -> float:
    from projections.storage.postgres import postgres_parts

    parts = postgres_parts(scratch.url)
    statement = (
        f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) VALUES "
        f"(gen_random_uuid(), 1, 'domain.subject:Subject.ConsentGiven', "
        f"'\\x{RAW_STATE.hex()}');\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "insert.sql"
        script.write_text(statement)
        seconds = max(1, round(sizes.raw_seconds))
        done = subprocess.run(
            ["pgbench", "-n", "-h", parts["host"], "-p", parts["port"], "-U", parts["user"],
             "-c", str(sizes.raw_connections), "-j", str(min(sizes.raw_connections, 2)),
             "-T", str(seconds), "-f", str(script), parts["dbname"]],
            capture_output=True, text=True, timeout=seconds + 60,
            env={"PGPASSWORD": parts["password"], "PATH": "/usr/bin:/bin"},
        )
    found = re.search(r"tps = ([0-9.]+)", done.stdout)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"pgbench failed: {done.stderr.strip()[:200]}")
    return float(found.group(1))


def _psycopg_inserts(scratch: Scratch, sizes: Sizes) -> float:
    import uuid

    import psycopg

    counts = [0] * sizes.raw_connections
    deadline = [0.0]
    start = threading.Barrier(sizes.raw_connections + 1)

    def client(number: int) -> None:
        with psycopg.connect(scratch.pg_conninfo, autocommit=True) as conn:
            start.wait()
            while time.perf_counter() < deadline[0]:
                conn.execute(
                    f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
                    "VALUES (%s, 1, %s, %s)",
                    (uuid.uuid4(), "domain.subject:Subject.ConsentGiven", RAW_STATE),
                    prepare=True,
                )
                counts[number] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(sizes.raw_connections)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + sizes.raw_seconds
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - began)
