"""`ledger verify` (the real command) passes an untouched log and names the first bad position of
a tampered one, on SQLite and PostgreSQL; erasing a subject breaks neither it nor any old proof."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner, Result

from api import keyfiles
from api.settings import Settings, get_settings
from api.bootstrap import Stores, open_stores
from projections.merkle_log.leaves import leaf_bytes
from projections.merkle_log.rfc9162 import leaf_hash, verify_consistency, verify_inclusion
from projections.merkle_log.proofs import Proofs
from projections.merkle_log.sealer import Sealer
from tests.conftest import make_settings

SUBJECTS = 8


@pytest.fixture
def sealed(durable_stores: Stores, durable_settings: Settings, clock: Any) -> Stores:
    """A few dozen events, a minute apart, all sealed under a signed checkpoint."""
    ledger = durable_stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(SUBJECTS):
        clock.move(minutes=1)
        subject = ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)
        clock.move(minutes=1)
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
        clock.move(minutes=1)
        ledger.give_consent(subject.aggregate.id, "blog_mail", "checkbox", "v1", "app")
    _seal(durable_stores, durable_settings)
    return durable_stores


def _seal(stores: Stores, settings: Settings) -> None:
    sealer = Sealer(stores.ledger, stores.db, keyfiles.signing_key(settings), batch_size=10)
    sealer.seal_pending()
    sealer.stop()


def run_verify(settings: Settings, *options: str) -> Result:
    from api.cli.main import app

    env = {"LEDGER_DATABASE_URL": settings.database_url, "LEDGER_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["verify", *options], env=env)
    finally:
        get_settings.cache_clear()


# --- raw SQL on the events table, as an intruder with database access would -------------------


def _table(stores: Stores) -> tuple[str, str]:
    """(events table, id column) of the eventsourcing recorder on this store."""
    if stores.db.dialect == "postgresql":
        return "ledger_events", "notification_id"
    return "stored_events", "rowid"


def _row(stores: Stores, notification_id: int) -> tuple[Any, ...]:
    """(originator id as a UUID, version, topic, state bytes): SQLite keeps the id as bare hex,
    the leaf commits to its canonical hyphenated form."""
    table, key = _table(stores)
    row = stores.db.fetchone(
        f"SELECT originator_id, originator_version, topic, state FROM {table} WHERE {key} = %s",
        (notification_id,),
    )
    assert row is not None
    return UUID(str(row[0])), int(row[1]), row[2], bytes(row[3])


def _set(stores: Stores, notification_id: int, topic: str, state: bytes) -> None:
    table, key = _table(stores)
    changed = stores.db.execute(
        f"UPDATE {table} SET topic = %s, state = %s WHERE {key} = %s", (topic, state, notification_id)
    )
    assert changed == 1


# Leaf 12 is event id 13: both stores number events from 1 without gaps here.
POSITION, EVENT_ID = 12, 13


def test_an_untouched_log_verifies(sealed: Stores, durable_settings: Settings) -> None:
    result = run_verify(durable_settings)

    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert f"sealed leaves checked: {1 + 3 * SUBJECTS}" in result.output


def test_events_not_yet_sealed_are_reported_but_do_not_fail(
    sealed: Stores, durable_settings: Settings
) -> None:
    sealed.ledger.open_tenant("Later BV", "officer-1")

    result = run_verify(durable_settings)

    assert result.exit_code == 0, result.output
    assert "not yet sealed: 1" in result.output


def test_one_changed_byte_in_a_stored_event_is_named_as_changed(
    sealed: Stores, durable_settings: Settings
) -> None:
    _, _, topic, state = _row(sealed, EVENT_ID)
    state = bytearray(bytes(state))
    state[20] ^= 0x01
    _set(sealed, EVENT_ID, topic, bytes(state))

    result = run_verify(durable_settings)

    assert result.exit_code == 1
    assert f"FAILED at position {POSITION} (event id {EVENT_ID}): changed" in result.output


def test_a_deleted_event_row_is_named_as_missing(sealed: Stores, durable_settings: Settings) -> None:
    table, key = _table(sealed)
    assert sealed.db.execute(f"DELETE FROM {table} WHERE {key} = %s", (EVENT_ID,)) == 1

    result = run_verify(durable_settings)

    assert result.exit_code == 1
    assert f"FAILED at position {POSITION} (event id {EVENT_ID}): missing" in result.output


def test_two_rows_with_swapped_contents_are_named_as_reordered(
    sealed: Stores, durable_settings: Settings
) -> None:
    later = EVENT_ID + 5
    _, _, topic_a, state_a = _row(sealed, EVENT_ID)
    _, _, topic_b, state_b = _row(sealed, later)
    _set(sealed, EVENT_ID, topic_b, bytes(state_b))
    _set(sealed, later, topic_a, bytes(state_a))

    result = run_verify(durable_settings)

    assert result.exit_code == 1
    assert f"FAILED at position {POSITION} (event id {EVENT_ID}): reordered" in result.output
    assert f"sealed at position {POSITION + 5}" in result.output


def test_a_row_inserted_before_the_first_event_is_named_as_extra(
    sealed: Stores, durable_settings: Settings
) -> None:
    table, key = _table(sealed)
    _, version, topic, state = _row(sealed, 1)
    sealed.db.execute(
        f"INSERT INTO {table} ({key}, originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s, %s)",
        (0, uuid4().hex if sealed.db.dialect != "postgresql" else uuid4(), version, topic, state),
    )

    result = run_verify(durable_settings)

    assert result.exit_code == 1
    assert "FAILED at position 0 (event id 0): extra" in result.output


def test_a_row_slipped_into_a_gap_between_sealed_events_is_named_as_extra(
    pg_url: str, tmp_path: Path, clock: Any
) -> None:
    """PostgreSQL leaves gaps in the ids (a rolled-back insert); a row put there later is extra."""
    settings = make_settings(pg_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    try:
        tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate
        gap = stores.db.fetchone("SELECT nextval('ledger_events_notification_id_seq')")[0]
        stores.ledger.register_subject("Person", "p@example.org", "app", tenant.id)
        _seal(stores, settings)
        _, version, topic, state = _row(stores, 1)
        stores.db.execute(
            "INSERT INTO ledger_events (notification_id, originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s, %s)",
            (gap, uuid4(), version, topic, bytes(state)),
        )

        result = run_verify(settings)
    finally:
        stores.close()

    assert result.exit_code == 1
    assert f"FAILED at position 1 (event id {gap}): extra" in result.output


def test_a_changed_checkpoint_row_fails_as_a_bad_signature(
    sealed: Stores, durable_settings: Settings
) -> None:
    size = sealed.db.fetchone("SELECT MAX(tree_size) FROM merkle_checkpoints")[0]
    sealed.db.execute(
        "UPDATE merkle_checkpoints SET root_hash = %s WHERE tree_size = %s", (bytes(32), size)
    )

    result = run_verify(durable_settings)

    assert result.exit_code == 1
    assert f"FAILED at checkpoint of tree size {size}: bad signature" in result.output


def test_verify_accepts_the_published_key_and_refuses_checkpoints_under_another(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from projections.merkle_log.checkpoints import public_key_pem, public_key_raw_base64

    published = tmp_path / "published.pem"
    published.write_text(public_key_pem(keyfiles.signing_key(durable_settings)))
    stranger = tmp_path / "stranger.b64"
    stranger.write_text(public_key_raw_base64(Ed25519PrivateKey.generate()))

    assert run_verify(durable_settings, "--public-key", str(published)).exit_code == 0
    refused = run_verify(durable_settings, "--public-key", str(stranger))
    assert refused.exit_code == 1
    assert "bad signature" in refused.output


def test_events_and_leaves_rewritten_together_still_fail_against_the_signed_root(
    sealed: Stores, durable_settings: Settings
) -> None:
    originator_id, version, topic, state = _row(sealed, EVENT_ID)
    forged = bytes(state).replace(b"app", b"bot")
    _set(sealed, EVENT_ID, topic, forged)
    sealed.db.execute(
        "UPDATE merkle_leaves SET leaf_hash = %s WHERE leaf_index = %s",
        (leaf_hash(leaf_bytes(EVENT_ID, str(originator_id), version, topic, forged)), POSITION),
    )

    result = run_verify(durable_settings)

    size = sealed.db.fetchone("SELECT MAX(tree_size) FROM merkle_checkpoints")[0]
    assert result.exit_code == 1
    assert f"FAILED at checkpoint of tree size {size}: changed" in result.output
    assert f"positions 0..{size - 1}" in result.output


def test_after_an_erasure_verify_passes_and_every_earlier_proof_still_verifies(
    sealed: Stores, durable_settings: Settings
) -> None:
    proofs = Proofs(sealed.db)
    before = proofs.checkpoint()
    old_proofs = {i: proofs.inclusion(i, before.tree_size) for i in range(before.tree_size)}
    subject_id = sealed.ledger.recorder.select_notifications(start=2, limit=1)[0].originator_id

    sealed.ledger.erase_subject(subject_id, "officer-1")
    _seal(sealed, durable_settings)

    result = run_verify(durable_settings)
    assert result.exit_code == 0, result.output
    after = proofs.checkpoint()
    assert after.tree_size == before.tree_size + 1  # the erasure's fence event
    for index, old in old_proofs.items():
        notification_id = sealed.db.fetchone(
            "SELECT notification_id FROM merkle_leaves WHERE leaf_index = %s", (index,)
        )[0]
        originator_id, version, topic, state = _row(sealed, notification_id)
        leaf = leaf_hash(leaf_bytes(notification_id, str(originator_id), version, topic, bytes(state)))
        assert verify_inclusion(leaf, index, before.tree_size, old.path, before.root_hash)
        assert proofs.inclusion(index, before.tree_size) == old
    link = proofs.consistency(before.tree_size, after.tree_size)
    assert verify_consistency(before.tree_size, after.tree_size, before.root_hash, after.root_hash, link.path)
