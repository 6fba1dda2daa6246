"""The sealer turns every stored event into a leaf, exactly once, and signs checkpoints over them;
proofs served from what it stored verify against those signatures."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Notification

from api import keyfiles
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from projections.merkle_log import proof_paths as merkle
from projections.merkle_log.checkpoints import load_public_key, public_key_pem, signature_holds
from projections.storage.database import open_database
from projections.merkle_log.leaves import leaf_bytes, notification_leaf_hash
from projections.merkle_log.rfc9162 import leaf_hash, root_from_leaf_hashes, verify_consistency, verify_inclusion
from projections.merkle_log.store import latest_checkpoint, leaf_hashes
from projections.merkle_log.proofs import Proofs
from projections.merkle_log.sealer import Sealer
from tests.conftest import make_settings


def _record_some_events(stores: Stores, subjects: int = 6) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        subject = ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")


def _events(stores: Stores) -> list[Any]:
    return list(stores.ledger.recorder.select_notifications(start=None, limit=10_000))


def _sealer(stores: Stores, settings: Settings, **options: Any) -> Sealer:
    return Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings), **options)


def _stored_leaves(stores: Stores) -> list[tuple[int, int, bytes]]:
    return [
        (int(i), int(n), bytes(h))
        for i, n, h in stores.db.fetchall(
            "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves ORDER BY leaf_index"
        )
    ]


def test_every_stored_event_becomes_one_leaf_in_notification_order_under_a_signed_root(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    _record_some_events(durable_stores)
    events = _events(durable_stores)

    added = _sealer(durable_stores, durable_settings, batch_size=5).seal_pending()

    assert added == len(events)
    expected = [(i, e.id, notification_leaf_hash(e)) for i, e in enumerate(events)]
    assert _stored_leaves(durable_stores) == expected
    checkpoint = latest_checkpoint(durable_stores.db)
    assert checkpoint is not None and checkpoint.tree_size == len(events)
    assert checkpoint.root_hash == root_from_leaf_hashes([h for _, _, h in expected])
    published = load_public_key(public_key_pem(keyfiles.signing_key(durable_settings)))
    assert signature_holds(published, checkpoint)


def test_a_restarted_sealer_resumes_where_it_stopped_without_doubling_a_leaf(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    _record_some_events(durable_stores, subjects=3)
    first = _sealer(durable_stores, durable_settings, batch_size=4)
    sealed_first = first.seal_pending()
    first.stop()
    _record_some_events(durable_stores, subjects=3)

    added = _sealer(durable_stores, durable_settings, batch_size=4).seal_pending()

    events = _events(durable_stores)
    assert sealed_first + added == len(events)
    assert [n for _, n, _ in _stored_leaves(durable_stores)] == [e.id for e in events]
    checkpoint = latest_checkpoint(durable_stores.db)
    assert checkpoint is not None
    assert checkpoint.root_hash == root_from_leaf_hashes([notification_leaf_hash(e) for e in events])


def test_sealing_with_nothing_new_adds_no_leaf_and_no_checkpoint(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    _record_some_events(durable_stores, subjects=1)
    sealer = _sealer(durable_stores, durable_settings)
    sealer.seal_pending()

    assert sealer.seal_pending() == 0
    assert durable_stores.db.fetchone("SELECT COUNT(*) FROM merkle_checkpoints") == (1,)


class _FailingCursor:
    """Passes everything through but fails the statement that saves the tree's state: a crash
    after the leaves were written inside the transaction, before it committed."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = ()) -> Any:
        if "merkle_state SET" in sql or "INTO merkle_state" in sql:
            raise RuntimeError("power cut")
        return self._cursor.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def test_a_crash_in_the_middle_of_a_batch_leaves_no_leaf_behind_and_a_restart_seals_each_once(
    durable_stores: Stores, durable_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record_some_events(durable_stores, subjects=2)
    db = durable_stores.db
    real_transaction = db.transaction

    @contextmanager
    def crashing_transaction() -> Iterator[Any]:
        with real_transaction() as cursor:
            yield _FailingCursor(cursor)

    monkeypatch.setattr(db, "transaction", crashing_transaction)
    with pytest.raises(RuntimeError, match="power cut"):
        _sealer(durable_stores, durable_settings).seal_pending()
    monkeypatch.setattr(db, "transaction", real_transaction)

    assert _stored_leaves(durable_stores) == []
    _sealer(durable_stores, durable_settings).seal_pending()
    assert [n for _, n, _ in _stored_leaves(durable_stores)] == [e.id for e in _events(durable_stores)]


def _wait_for(condition: Any, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_background_sealer_signs_new_events_without_being_asked(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = _sealer(durable_stores, durable_settings, poll_interval=0.02)
    sealer.start()
    try:
        _record_some_events(durable_stores, subjects=2)
        count = len(_events(durable_stores))

        def covered() -> bool:
            checkpoint = latest_checkpoint(durable_stores.db)
            return checkpoint is not None and checkpoint.tree_size == count

        assert _wait_for(covered)
    finally:
        sealer.stop()


def test_on_postgresql_only_one_sealer_writes_and_a_standby_takes_over_when_it_stops(
    pg_url: str, tmp_path: Path, clock: Any
) -> None:
    settings = make_settings(pg_url, tmp_path / "var")
    leader_stores, standby_stores = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    try:
        _record_some_events(leader_stores, subjects=1)
        leader, standby = _sealer(leader_stores, settings), _sealer(standby_stores, settings)
        assert leader.seal_pending() > 0 and leader.active

        _record_some_events(leader_stores, subjects=1)
        assert standby.seal_pending() == 0
        assert not standby.active

        leader.stop()
        assert standby.seal_pending() == 2 + 1  # a tenant, a subject and a consent
        assert standby.active
        events = _events(standby_stores)
        assert [n for _, n, _ in _stored_leaves(standby_stores)] == [e.id for e in events]
        standby.stop()
    finally:
        leader_stores.close()
        standby_stores.close()


# --- proofs from the stored tree ----------------------------------------------------------------


def _event_row(stores: Stores, notification_id: int) -> tuple[Any, ...]:
    """The raw row, read with SQL, as an auditor with database access would."""
    if stores.db.dialect == "postgresql":
        sql = ("SELECT originator_id, originator_version, topic, state FROM ledger_events "
               "WHERE notification_id = %s")
    else:
        sql = "SELECT originator_id, originator_version, topic, state FROM stored_events WHERE rowid = %s"
    row = stores.db.fetchone(sql, (notification_id,))
    assert row is not None
    return row


def test_an_inclusion_proof_for_a_real_event_verifies_against_the_signed_checkpoint_root(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    _record_some_events(durable_stores)
    _sealer(durable_stores, durable_settings).seal_pending()
    proofs = Proofs(durable_stores.db)
    checkpoint = proofs.checkpoint()
    published = load_public_key(public_key_pem(keyfiles.signing_key(durable_settings)))
    assert signature_holds(published, checkpoint)

    for index, notification_id, _ in _stored_leaves(durable_stores):
        originator_id, version, topic, state = _event_row(durable_stores, notification_id)
        recomputed = leaf_hash(leaf_bytes(notification_id, UUID(str(originator_id)), version, topic, bytes(state)))
        proof = proofs.inclusion(index, checkpoint.tree_size)

        assert proof.leaf_hash == recomputed
        assert verify_inclusion(recomputed, index, checkpoint.tree_size, proof.path, checkpoint.root_hash)


def test_a_consistency_proof_links_an_earlier_checkpoint_to_the_latest(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    sealer = _sealer(durable_stores, durable_settings)
    _record_some_events(durable_stores, subjects=2)
    sealer.seal_pending()
    earlier = Proofs(durable_stores.db).checkpoint()
    _record_some_events(durable_stores, subjects=3)
    sealer.seal_pending()
    proofs = Proofs(durable_stores.db)
    latest = proofs.checkpoint()

    proof = proofs.consistency(earlier.tree_size)

    assert latest.tree_size > earlier.tree_size
    assert verify_consistency(earlier.tree_size, latest.tree_size, earlier.root_hash, latest.root_hash, proof.path)


class _FakeRecorder:
    """Stands in for the event store so that a few hundred leaves cost no domain work."""

    def __init__(self, count: int) -> None:
        # Gaps in the ids, as PostgreSQL leaves after a rolled-back insert.
        self.notifications = [
            Notification(id=3 * i + 1, originator_id=uuid4(), originator_version=1,
                         topic="tests:Fake", state=b"state-%d" % i)
            for i in range(count)
        ]

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Any = (),
        *, inclusive_of_start: bool = True,
    ) -> list[Notification]:
        low = -1 if start is None else start
        chosen = [n for n in self.notifications if n.id > low or (inclusive_of_start and n.id == low)]
        return chosen[:limit]


class _FakeLedger:
    def __init__(self, count: int) -> None:
        self.recorder = _FakeRecorder(count)


def test_proofs_from_stored_nodes_equal_proofs_from_the_leaves_for_every_size_up_to_300() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    db = open_database("memory://")
    fake = _FakeLedger(300)
    Sealer(fake, db, Ed25519PrivateKey.generate(), batch_size=37).seal_pending()
    hashes = [notification_leaf_hash(n) for n in fake.recorder.notifications]
    assert leaf_hashes(db, 0, 300) == hashes
    proofs = Proofs(db)

    for size in range(1, 301):
        for index in {0, size // 3, size - 1}:
            assert proofs.inclusion(index, size).path == merkle.inclusion_proof(index, size, hashes)
        assert proofs.consistency(max(size // 2, 1), size).path == merkle.consistency_proof(
            max(size // 2, 1), size, hashes
        )
    db.close()


def test_proofs_refuse_sizes_beyond_the_latest_checkpoint_naming_the_field(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    from domain.errors import InvalidInput

    _record_some_events(durable_stores, subjects=1)
    _sealer(durable_stores, durable_settings).seal_pending()
    proofs = Proofs(durable_stores.db)
    size = proofs.checkpoint().tree_size

    with pytest.raises(InvalidInput) as beyond:
        proofs.inclusion(0, size + 1)
    with pytest.raises(InvalidInput) as outside:
        proofs.inclusion(size, size)
    with pytest.raises(InvalidInput) as reversed_sizes:
        proofs.consistency(size, size - 1)

    assert (beyond.value.field, outside.value.field, reversed_sizes.value.field) == (
        "tree_size", "index", "first"
    )
