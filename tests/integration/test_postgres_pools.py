"""The PostgreSQL pools check a connection before handing it out only after it idled
(projections/storage/postgres.py CHECK_AFTER_IDLE_SECONDS): a check per query cost the hot
paths a round trip each. A connection the server dropped while it idled is still replaced
before anyone gets it, in the read models' pool and in the event store's."""

from __future__ import annotations

import time

import psycopg
import pytest

from api.bootstrap import Stores
from projections.storage import postgres

IDLE = 0.05


@pytest.fixture(autouse=True)
def short_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "CHECK_AFTER_IDLE_SECONDS", IDLE)


def _drop_every_other_session(pg_url: str) -> int:
    """What a server restart does to the pools: every session of the database ends."""
    dbname = postgres.postgres_parts(pg_url)["dbname"]
    with psycopg.connect(_admin(pg_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,),
        ).fetchall()
    return len(rows)


def _admin(pg_url: str) -> str:
    parts = postgres.postgres_parts(pg_url)
    return " ".join(f"{k}={v}" for k, v in {**parts, "dbname": "postgres"}.items() if v)


def test_a_connection_dropped_while_idle_is_replaced_before_a_read_gets_it(
    pg_stores: Stores, pg_url: str
) -> None:
    assert pg_stores.db.fetchone("SELECT 1") == (1,)
    assert _drop_every_other_session(pg_url) >= 1
    time.sleep(IDLE * 2)
    assert pg_stores.db.fetchone("SELECT 2") == (2,)


def test_a_connection_dropped_while_idle_is_replaced_before_a_consent_write_gets_it(
    pg_stores: Stores, pg_url: str
) -> None:
    ledger = pg_stores.ledger
    tenant = ledger.open_tenant("Pools B.V.", "olga").aggregate.id
    subject = ledger.register_subject("Ann", "ann@example.org", "crm", tenant_id=tenant)
    assert _drop_every_other_session(pg_url) >= 1
    time.sleep(IDLE * 2)
    outcome = ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "2026-01", "crm")
    assert outcome.position > 0


def test_connections_used_a_moment_ago_are_handed_out_without_a_round_trip(
    pg_stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    from psycopg_pool import ConnectionPool

    monkeypatch.setattr(postgres, "CHECK_AFTER_IDLE_SECONDS", 60.0)
    checks: list[object] = []
    monkeypatch.setattr(ConnectionPool, "check_connection",
                        staticmethod(lambda conn: checks.append(conn)))
    ledger = pg_stores.ledger
    tenant = ledger.open_tenant("Pools B.V.", "olga").aggregate.id

    def use_both_pools() -> None:
        for n in range(30):
            pg_stores.db.fetchone("SELECT 1")
            ledger.register_subject("Ann", f"a{n}@example.org", "crm", tenant_id=tenant)

    use_both_pools()  # every pooled connection is used once (and checked, being new)
    assert checks, "a connection never used before was handed out unchecked"
    checks.clear()
    use_both_pools()
    assert checks == []
