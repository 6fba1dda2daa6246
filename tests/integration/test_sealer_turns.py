"""On PostgreSQL only the holder of the sealer lock writes the Merkle log: a sealer that cannot
take the lock, because the server refuses it a connection or refuses the lock itself, stands by
and writes nothing, and takes over once it gets the lock. Found by `make mutate`: a sealer that
went ahead without the lock when either step failed passed every test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import projections.merkle_log.sealer as sealer_module
from api import keyfiles
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from projections.merkle_log.sealer import Sealer
from tests.conftest import _conninfo, make_settings, with_database


def _record_some_events(stores: Stores) -> int:
    """A tenant, a subject and a consent: three events."""
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    subject = ledger.register_subject("Person", "person@example.org", "app", tenant.id)
    ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
    return 3


def _leaves(stores: Stores) -> int:
    row = stores.db.fetchone("SELECT COUNT(*) FROM merkle_leaves")
    return int(row[0]) if row else 0


def _admin(pg_admin: str, sql: str) -> None:
    with psycopg.connect(_conninfo(pg_admin), autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def opened(pg_url: str, tmp_path: Path, clock: Any) -> Iterator[tuple[Stores, Settings]]:
    settings = make_settings(pg_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    try:
        yield stores, settings
    finally:
        stores.close()


def test_a_sealer_the_server_refuses_a_lock_connection_stands_by_and_writes_nothing(
    opened: tuple[Stores, Settings], pg_admin: str, pg_url: str,
) -> None:
    stores, settings = opened
    events = _record_some_events(stores)
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings))
    name = pg_url.rpartition("/")[2]
    # New sessions are refused (as when the server is at its connection limit); the sessions
    # the ledger already holds go on working.
    _admin(pg_admin, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    try:
        assert sealer.seal_pending() == 0
        assert not sealer.active
        assert _leaves(stores) == 0
    finally:
        _admin(pg_admin, f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')

    assert sealer.seal_pending() == events  # the lock can be had again: it takes over
    assert sealer.active and _leaves(stores) == events
    sealer.stop()


@pytest.fixture
def owned_by_a_plain_role(pg_admin: str, tmp_path: Path, clock: Any
                          ) -> Iterator[tuple[Stores, Settings]]:
    """A database owned by a role that is no superuser and may not call pg_try_advisory_lock
    (a locked-down server), with the ledger's stores opened as that role."""
    suffix = uuid.uuid4().hex[:12]
    role, name = f"ledger_role_{suffix}", f"ledger_test_{suffix}"
    _admin(pg_admin, f'CREATE ROLE "{role}" LOGIN')
    try:
        _admin(pg_admin, f'CREATE DATABASE "{name}" OWNER "{role}"')
        try:
            _admin(with_database(pg_admin, name),
                   "REVOKE EXECUTE ON FUNCTION pg_try_advisory_lock(bigint) FROM PUBLIC")
            base = with_database(pg_admin, name).replace("://postgres@", f"://{role}@", 1)
            assert f"://{role}@" in base, "the admin URL names no user to replace"
            settings = make_settings(base, tmp_path / "var")
            stores = open_stores(settings, clock=clock)
            try:
                yield stores, settings
            finally:
                stores.close()
        finally:
            _admin(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        _admin(pg_admin, f'DROP ROLE IF EXISTS "{role}"')


def test_a_sealer_refused_the_lock_itself_stands_by_and_writes_nothing(
    owned_by_a_plain_role: tuple[Stores, Settings],
) -> None:
    stores, settings = owned_by_a_plain_role
    _record_some_events(stores)
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings))

    assert sealer.seal_pending() == 0
    assert not sealer.active
    assert _leaves(stores) == 0
    sealer.stop()


def test_the_lock_holder_goes_on_sealing_what_comes_next_without_a_pause(
    opened: tuple[Stores, Settings], monkeypatch: pytest.MonkeyPatch,
) -> None:
    stores, settings = opened
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings))
    sealed = _record_some_events(stores)
    assert sealer.seal_pending() == sealed

    holder = _lock_holder(stores)
    assert holder is not None

    sealed += _record_some_events(stores)  # at once: the lock was checked a moment ago
    assert sealer.seal_pending() == 3
    monkeypatch.setattr(sealer_module, "LOCK_RETRY_SECONDS", 0.0)  # every call checks the lock
    for _ in range(2):
        sealed += _record_some_events(stores)
        assert sealer.seal_pending() == 3
    assert sealer.active and _leaves(stores) == sealed
    assert _lock_holder(stores) == holder  # one session held the lock all along
    sealer.stop()
    assert not sealer.active and _lock_holder(stores) is None


def _lock_holder(stores: Stores) -> int | None:
    """The server process holding the sealer lock, as an operator sees it in pg_locks."""
    row = stores.db.fetchone(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = %s", (sealer_module.SEALER_LOCK_KEY,)
    )
    return None if row is None else int(row[0])


def test_the_lock_holders_session_keeps_no_transaction_open(
    opened: tuple[Stores, Settings],
) -> None:
    """An idle transaction would hold back vacuum for as long as the process seals, and a
    server with idle_in_transaction_session_timeout would end it, and the lock with it."""
    stores, settings = opened
    _record_some_events(stores)
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings))
    assert sealer.seal_pending() == 3

    idle = stores.db.fetchall(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%%'"
    )
    assert idle == []
    sealer.stop()


def test_the_sealers_of_two_ledgers_on_one_server_do_not_stand_in_each_others_way(
    opened: tuple[Stores, Settings], pg_admin: str, tmp_path: Path, clock: Any,
) -> None:
    """The lock is the ledger database's own: another ledger's sealer on the same server (a
    second environment, say) takes its own lock, not this one's."""
    stores, settings = opened
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    _admin(pg_admin, f'CREATE DATABASE "{name}"')
    try:
        other_settings = make_settings(with_database(pg_admin, name), tmp_path / "other")
        other = open_stores(other_settings, clock=clock)
        try:
            sealers = [Sealer(s.ledger, s.db, keyfiles.signing_key(c))
                       for s, c in ((stores, settings), (other, other_settings))]
            for each in (stores, other):
                _record_some_events(each)

            assert [sealer.seal_pending() for sealer in sealers] == [3, 3]
            assert all(sealer.active for sealer in sealers)
            assert [_leaves(stores), _leaves(other)] == [3, 3]
            for sealer in sealers:
                sealer.stop()
        finally:
            other.close()
    finally:
        _admin(pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
