"""`ledger verify` reads events, leaves and hashes a chunk at a time (projections/audit/verify.py);
where the chunks end must never change what it finds: the same report, problem for problem,
whatever the chunk sizes, on an untouched log and on one tampered in several ways at once."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from api import keyfiles
from api.settings import Settings
from api.bootstrap import Stores
from projections.merkle_log.leaves import notification_leaf_hash
from projections.merkle_log.sealer import Sealer
from projections.audit.verify import Report, verify_log

SIZES = [{"chunk": 1}, {"chunk": 3, "leaf_chunk": 1}, {"chunk": 7, "leaf_chunk": 5}, {"chunk": 1000, "leaf_chunk": 4}]


@pytest.fixture
def sealed(durable_stores: Stores, durable_settings: Settings) -> Stores:
    ledger = durable_stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(10):
        subject = ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
        ledger.give_consent(subject.aggregate.id, "blog_mail", "checkbox", "v1", "app")
    sealer = Sealer(ledger, durable_stores.db, keyfiles.signing_key(durable_settings), batch_size=4)
    sealer.seal_pending()
    sealer.stop()
    ledger.open_tenant("Later BV", "officer-1")  # not yet sealed
    return durable_stores


def _report(stores: Stores, settings: Settings, **sizes: int) -> tuple[Any, ...]:
    report: Report = verify_log(
        stores.ledger.recorder, stores.db, keyfiles.signing_key(settings).public_key(), **sizes
    )
    problems = [(p.kind, p.position, p.notification_id, p.detail, p.checkpoint) for p in report.problems]
    return report.events, report.sealed, report.checkpoints, report.unsealed, report.problem_count, problems


def _tamper(stores: Stores) -> None:
    table, key = (
        ("ledger_events", "notification_id") if stores.db.dialect == "postgresql" else ("stored_events", "rowid")
    )
    db = stores.db
    db.execute(f"UPDATE {table} SET topic = topic || 'x' WHERE {key} IN (5, 6, 17)")
    db.execute(f"DELETE FROM {table} WHERE {key} = 9")
    version, topic, state = db.fetchone(
        f"SELECT originator_version, topic, state FROM {table} WHERE {key} = 1"
    )
    originator = uuid4() if db.dialect == "postgresql" else uuid4().hex
    db.execute(
        f"INSERT INTO {table} ({key}, originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s, %s)",
        (0, originator, version, topic, bytes(state)),
    )
    # An event and its leaf rewritten together: only the signed roots can tell.
    db.execute(f"UPDATE {table} SET topic = topic || 'y' WHERE {key} = 15")
    (rewritten,) = stores.ledger.recorder.select_notifications(start=15, limit=1)
    db.execute(
        "UPDATE merkle_leaves SET leaf_hash = %s WHERE notification_id = 15",
        (notification_leaf_hash(rewritten),),
    )


def test_an_untouched_log_reports_the_same_whatever_the_chunks(
    sealed: Stores, durable_settings: Settings
) -> None:
    expected = _report(sealed, durable_settings)

    assert expected[4] == 0 and expected[3] == 1
    for sizes in SIZES:
        assert _report(sealed, durable_settings, **sizes) == expected


@pytest.mark.parametrize("leaf_rows_deleted", [False, True])
def test_a_tampered_log_reports_the_same_problems_whatever_the_chunks(
    sealed: Stores, durable_settings: Settings, leaf_rows_deleted: bool
) -> None:
    _tamper(sealed)
    if leaf_rows_deleted:  # then no root after them can be recomputed
        sealed.db.execute("DELETE FROM merkle_leaves WHERE leaf_index IN (22, 23)")
    expected = _report(sealed, durable_settings)

    kinds = {problem[0] for problem in expected[5]}
    assert {"changed", "missing", "extra"} <= kinds
    signed_root_failed = any(problem[0] == "changed" and problem[4] for problem in expected[5])
    assert signed_root_failed is not leaf_rows_deleted
    for sizes in SIZES:
        assert _report(sealed, durable_settings, **sizes) == expected


# Only PostgreSQL reads the leaves pipelined, so this one runs there alone (never a skip).
@pytest.mark.parametrize("durable_database_url", ["postgres"], indirect=True)
def test_leaves_go_on_from_the_last_window_when_the_connection_is_lost_on_postgres(
    sealed: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from projections.merkle_log import store as merkle_store
    from projections.merkle_log.sealed_state import read_state
    from projections.merkle_log.store import iter_leaves

    assert sealed.db.dialect == "postgresql"
    end = read_state(sealed.db).tree.size
    expected = list(iter_leaves(sealed.db, end=end, chunk=3))
    pipelined = merkle_store._pipelined

    def failing_after_two(*args: Any) -> Any:
        windows = pipelined(*args)
        yield next(windows)
        yield next(windows)
        raise psycopg.OperationalError("the server closed the connection")

    monkeypatch.setattr(merkle_store, "_pipelined", failing_after_two)

    assert list(iter_leaves(sealed.db, end=end, chunk=3)) == expected
    assert len(expected) == end
