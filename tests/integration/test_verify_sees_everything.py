"""`ledger verify` checks everything proofs and the sealer rely on, on SQLite and PostgreSQL: the
stored interior nodes, the sealer's record, that nothing waits past the delay to be sealed and
signed, and - with a checkpoint the auditor kept - that the log still extends it. Each tamper,
done as an intruder with database access would, fails naming what and where."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner, Result

from api import keyfiles
from api.bootstrap import Stores, make_sealer
from api.settings import Settings, get_settings
from projections.merkle_log.notes import note_at

SUBJECTS = 8
LEAVES = 1 + 2 * SUBJECTS  # a tenant, then a subject and a consent each: 17 leaves
SHORT_DELAY = 0.2  # LEDGER_CHECKPOINT_DELAY_SECONDS where a test waits it out


def _write(stores: Stores, subjects: int = SUBJECTS) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        subject = ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")


def _seal(stores: Stores, settings: Settings) -> None:
    sealer = make_sealer(stores, settings)
    sealer.seal_pending()
    sealer.stop()


@pytest.fixture
def sealed(durable_stores: Stores, durable_settings: Settings) -> Stores:
    _write(durable_stores)
    _seal(durable_stores, durable_settings)
    return durable_stores


def verify(settings: Settings, *options: str, delay: float = 5.0) -> Result:
    from api.cli.main import app

    env = {
        "LEDGER_DATABASE_URL": settings.database_url, "LEDGER_DATA_DIR": str(settings.data_dir),
        "LEDGER_CHECKPOINT_DELAY_SECONDS": str(delay),
    }
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["verify", *options], env=env)
    finally:
        get_settings.cache_clear()


def _failed(result: Result, line: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert f"FAILED at {line}" in result.output, result.output


def _events_table(stores: Stores) -> tuple[str, str]:
    if stores.db.dialect == "postgresql":
        return "ledger_events", "notification_id"
    return "stored_events", "rowid"


def _forge_event(stores: Stores, notification_id: int) -> None:
    """A raw row copying event 1's contents under a new id, as an intruder would add one."""
    table, key = _events_table(stores)
    row = stores.db.fetchone(
        f"SELECT originator_version, topic, state FROM {table} WHERE {key} = 1"
    )
    originator = uuid4() if stores.db.dialect == "postgresql" else uuid4().hex
    stores.db.execute(
        f"INSERT INTO {table} ({key}, originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s, %s)",
        (notification_id, originator, row[0], row[1], bytes(row[2])),
    )


def test_the_untouched_log_verifies_with_its_nodes_and_record(
    sealed: Stores, durable_settings: Settings
) -> None:
    result = verify(durable_settings)

    assert result.exit_code == 0, result.output
    assert "every stored node and the sealer's record hold" in result.output


# --- the stored interior nodes ----------------------------------------------------------------


def test_a_flipped_interior_node_fails_naming_its_height_and_index(
    sealed: Stores, durable_settings: Settings
) -> None:
    node = bytes(sealed.db.fetchone(
        "SELECT node_hash FROM merkle_nodes WHERE height = 4 AND node_index = 0")[0])
    sealed.db.execute(
        "UPDATE merkle_nodes SET node_hash = %s WHERE height = 4 AND node_index = 0",
        (bytes([node[0] ^ 1]) + node[1:],),
    )

    _failed(verify(durable_settings), "merkle_nodes height 4 index 0 (positions 0..15): changed")


def test_a_deleted_interior_node_fails_as_missing(sealed: Stores, durable_settings: Settings) -> None:
    assert sealed.db.execute("DELETE FROM merkle_nodes WHERE height = 4 AND node_index = 0") == 1

    _failed(verify(durable_settings), "merkle_nodes height 4 index 0 (positions 0..15): missing")


@pytest.mark.parametrize("height, index, where", [
    (4, 7, "merkle_nodes height 4 index 7 (positions 112..127): extra"),
    (3, 0, "merkle_nodes height 3 index 0 (positions 0..7): extra"),
])
def test_an_interior_node_the_tree_does_not_have_fails_as_extra(
    sealed: Stores, durable_settings: Settings, height: int, index: int, where: str
) -> None:
    sealed.db.execute(
        "INSERT INTO merkle_nodes (height, node_index, node_hash) VALUES (%s, %s, %s)",
        (height, index, bytes(32)),
    )

    _failed(verify(durable_settings), where)


# --- the sealer's record ----------------------------------------------------------------------


def _record(stores: Stores, **columns: Any) -> None:
    sets = ", ".join(f"{name} = %s" for name in columns)
    assert stores.db.execute(f"UPDATE merkle_state SET {sets} WHERE id = 1", tuple(columns.values())) == 1


def test_a_record_moved_back_fails_naming_merkle_state(sealed: Stores, durable_settings: Settings) -> None:
    _record(sealed, tree_size=LEAVES - 1, last_notification_id=LEAVES - 1,
            frontier='["' + "ab" * 32 + '"]')  # 16 leaves: one perfect subtree

    result = verify(durable_settings)

    _failed(result, f"merkle_state: changed: merkle_state says {LEAVES - 1} leaves are sealed")
    assert "moved back" in result.output


def test_a_record_moved_forward_fails_naming_merkle_state(
    sealed: Stores, durable_settings: Settings
) -> None:
    _record(sealed, tree_size=LEAVES + 1, last_notification_id=LEAVES + 1,
            frontier='["' + "ab" * 32 + '", "' + "cd" * 32 + '"]')  # 18 = two subtrees

    result = verify(durable_settings)

    _failed(result, f"merkle_state: changed: merkle_state says {LEAVES + 1} leaves are sealed")
    assert "moved forward" in result.output


def test_a_garbled_record_is_a_failed_line_not_a_traceback(
    sealed: Stores, durable_settings: Settings
) -> None:
    _record(sealed, frontier='["not json')

    _failed(verify(durable_settings), "merkle_state: garbled: merkle_state's frontier is garbled")


def test_a_record_whose_frontier_is_not_the_leaves_tree_fails(
    sealed: Stores, durable_settings: Settings
) -> None:
    _record(sealed, frontier='["' + "ab" * 32 + '", "' + "cd" * 32 + '"]')

    _failed(verify(durable_settings), "merkle_state: changed: the frontier saved in merkle_state")


def test_an_event_slipped_in_behind_the_sealer_is_a_forgery(
    sealed: Stores, durable_settings: Settings
) -> None:
    """The intruder adds an event and moves the record past it, so the sealer never seals it."""
    _forge_event(sealed, LEAVES + 1)
    _record(sealed, last_notification_id=LEAVES + 1)

    result = verify(durable_settings)

    _failed(result, "merkle_state: changed")
    assert f"event id {LEAVES + 1} (no leaf): extra: an event is stored below the sealer's" in result.output


# --- nothing waits past the delay -------------------------------------------------------------


def test_an_unsealed_forged_event_past_the_delay_fails(
    sealed: Stores, durable_settings: Settings
) -> None:
    _forge_event(sealed, LEAVES + 1)
    time.sleep(SHORT_DELAY)  # the latest checkpoint is now older than the delay

    result = verify(durable_settings, delay=SHORT_DELAY)

    _failed(result, f"event id {LEAVES + 1} (unsealed: it would be position {LEAVES}): overdue")


def test_an_event_a_running_sealer_seals_within_the_delay_passes(
    sealed: Stores, durable_settings: Settings
) -> None:
    time.sleep(SHORT_DELAY)  # an old checkpoint: verify has to watch the sealer seal
    sealer = make_sealer(sealed, durable_settings)
    sealer.poll_interval = 0.01
    sealer.start()
    try:
        sealed.ledger.open_tenant("Later BV", "officer-1")
        result = verify(durable_settings, delay=2.0)
    finally:
        sealer.stop()

    assert result.exit_code == 0, result.output


def test_a_deleted_latest_checkpoint_is_noticed(sealed: Stores, durable_settings: Settings) -> None:
    assert sealed.db.execute("DELETE FROM merkle_checkpoints") == 1
    time.sleep(SHORT_DELAY)

    result = verify(durable_settings, delay=SHORT_DELAY)

    _failed(result, "merkle_checkpoints after tree size 0: missing")
    assert f"positions 0..{LEAVES - 1} are sealed but no checkpoint" in result.output


# --- a checkpoint the auditor kept ------------------------------------------------------------


def _keep_note(stores: Stores, settings: Settings, path: Path) -> Path:
    note = note_at(stores.db, keyfiles.signing_key(settings))
    assert note is not None and note.text.split("\n")[1] == str(LEAVES)
    path.write_text(note.render())
    return path


def _wipe_merkle_log(stores: Stores) -> None:
    for table in ("merkle_leaves", "merkle_nodes", "merkle_state", "merkle_checkpoints"):
        stores.db.execute(f"DELETE FROM {table}")


def test_the_log_extends_the_checkpoint_the_auditor_kept(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    kept = _keep_note(sealed, durable_settings, tmp_path / "kept.note")
    _write(sealed, subjects=2)
    _seal(sealed, durable_settings)

    result = verify(durable_settings, "--trusted-checkpoint", str(kept))

    assert result.exit_code == 0, result.output
    assert f"extends the trusted checkpoint of size {LEAVES}" in result.output


def test_a_truncated_and_resealed_log_verifies_alone_but_not_against_a_kept_checkpoint(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    kept = _keep_note(sealed, durable_settings, tmp_path / "kept.note")
    table, key = _events_table(sealed)
    sealed.db.execute(f"DELETE FROM {table} WHERE {key} > %s", (LEAVES - 4,))
    _wipe_merkle_log(sealed)
    _seal(sealed, durable_settings)
    assert verify(durable_settings).exit_code == 0, "consistent with itself"

    result = verify(durable_settings, "--trusted-checkpoint", str(kept))

    _failed(result, f"the trusted checkpoint of tree size {LEAVES}: truncated: the log holds "
                    f"{LEAVES - 4} sealed leaves")


def test_a_rewritten_and_resealed_log_fails_against_a_kept_checkpoint(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    kept = _keep_note(sealed, durable_settings, tmp_path / "kept.note")
    table, key = _events_table(sealed)
    state = bytearray(bytes(sealed.db.fetchone(f"SELECT state FROM {table} WHERE {key} = 5")[0]))
    state[-1] ^= 1
    sealed.db.execute(f"UPDATE {table} SET state = %s WHERE {key} = 5", (bytes(state),))
    _wipe_merkle_log(sealed)
    _seal(sealed, durable_settings)
    assert verify(durable_settings).exit_code == 0, "consistent with itself"

    result = verify(durable_settings, "--trusted-checkpoint", str(kept))

    _failed(result, f"the trusted checkpoint of tree size {LEAVES}: changed")
    assert f"the log was rewritten before position {LEAVES}" in result.output


def test_a_kept_note_another_key_signed_or_of_another_log_fails(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    text = _keep_note(sealed, durable_settings, tmp_path / "kept.note").read_text()
    origin, size, root, rest = text.split("\n", 3)
    flipped = bytearray(base64.b64decode(root))
    flipped[0] ^= 1
    forged = tmp_path / "forged.note"
    forged.write_text("\n".join([origin, size, base64.b64encode(flipped).decode(), rest]))
    other = tmp_path / "other.note"
    other.write_text("\n".join(["other.example/log", size, root, rest]))

    _failed(verify(durable_settings, "--trusted-checkpoint", str(forged)),
            f"the trusted checkpoint of tree size {LEAVES}: bad signature")
    _failed(verify(durable_settings, "--trusted-checkpoint", str(other)),
            f"the trusted checkpoint of tree size {LEAVES}: changed: the note is of the log "
            "'other.example/log'")


def test_a_file_that_is_no_checkpoint_note_is_a_usage_error(
    sealed: Stores, durable_settings: Settings, tmp_path: Path
) -> None:
    garbled = tmp_path / "garbled.note"
    garbled.write_text("this is not a note\n")

    result = verify(durable_settings, "--trusted-checkpoint", str(garbled))

    assert result.exit_code == 2, result.output
    assert "not a C2SP checkpoint note" in result.output


def test_a_garbled_leaf_row_is_a_failed_line_not_a_traceback(
    sealed: Stores, durable_settings: Settings
) -> None:
    sealed.db.execute("UPDATE merkle_leaves SET leaf_hash = %s WHERE leaf_index = 3", (b"short",))

    result = verify(durable_settings)

    _failed(result, "position 3 (event id 4): changed")
    assert "merkle_leaves position 3: garbled" in result.output
