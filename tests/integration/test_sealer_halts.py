"""A sealer whose record disagrees with the stored leaves stops and says why - in `ledger
projections status` and `/healthz` - instead of retrying the same failure forever; a restart
that finds the record mended seals again. On SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.bootstrap import Stores, make_sealer
from api.cli.main import app as cli
from api.settings import Settings, get_settings
from domain.clock import MovableClock
from projections.merkle_log.sealed_state import StateInconsistent
from projections.merkle_log.sealer_halts import sealer_halt


def _write(stores: Stores, subjects: int = 3) -> None:
    tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        stores.ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)


@pytest.fixture
def sealed(durable_stores: Stores, durable_settings: Settings) -> Stores:
    _write(durable_stores)
    sealer = make_sealer(durable_stores, durable_settings)
    sealer.seal_pending()
    sealer.stop()
    return durable_stores


def _move_back(stores: Stores) -> None:
    """The record moved back by one leaf (as the check that found the spinning sealer did)."""
    assert stores.db.execute(
        "UPDATE merkle_state SET tree_size = 2, last_notification_id = 2, frontier = %s "
        "WHERE id = 1", ('["' + "ab" * 32 + '"]',),
    ) == 1


def _status(settings: Settings) -> tuple[int, str]:
    env = {"LEDGER_DATABASE_URL": settings.database_url, "LEDGER_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["projections", "status"], env=env)
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_a_sealer_whose_record_was_moved_back_halts_and_status_says_why(
    sealed: Stores, durable_settings: Settings
) -> None:
    _move_back(sealed)
    _write(sealed, subjects=1)

    with pytest.raises(StateInconsistent, match="moved back"):
        make_sealer(sealed, durable_settings).seal_pending()

    code, output = _status(durable_settings)
    assert code == 1
    assert "the sealer halted: merkle_state says 2 leaves are sealed but leaves are stored up to" in output
    assert sealed.db.fetchone("SELECT COUNT(*) FROM merkle_leaves")[0] == 4, "nothing sealed on"


def test_a_batch_that_meets_a_stored_row_halts_naming_the_table(
    sealed: Stores, durable_settings: Settings
) -> None:
    """A node forged beyond the tree: the next batch that completes it would write it."""
    sealed.db.execute(
        "INSERT INTO merkle_nodes (height, node_index, node_hash) VALUES (4, 0, %s)", (bytes(32),)
    )
    _write(sealed, subjects=15)

    with pytest.raises(StateInconsistent, match="rows already in merkle_nodes"):
        make_sealer(sealed, durable_settings).seal_pending()

    halt = sealer_halt(sealed.db)
    assert halt is not None and "merkle_nodes" in halt.reason


def test_the_halted_sealer_thread_parks_instead_of_retrying(
    sealed: Stores, durable_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    _move_back(sealed)
    sealer = make_sealer(sealed, durable_settings)
    sealer.poll_interval = 0.01
    with caplog.at_level(logging.WARNING, logger="ledger.sealer"):
        sealer.start()
        try:
            deadline = time.monotonic() + 10
            while sealer.halted is None:
                assert time.monotonic() < deadline, "never halted"
                time.sleep(0.01)
            time.sleep(0.3)  # thirty polls' worth: a spinning sealer would say so again and again
        finally:
            sealer.stop()

    said = [r.getMessage() for r in caplog.records if r.name == "ledger.sealer"]
    assert len(said) == 1 and said[0].startswith("the sealer halts: merkle_state says 2"), said


def test_healthz_reports_the_halted_sealer_until_a_restart_finds_the_record_mended(
    sealed: Stores, durable_settings: Settings, clock: MovableClock
) -> None:
    row = sealed.db.fetchone("SELECT tree_size, last_notification_id, frontier FROM merkle_state")
    _move_back(sealed)
    settings = durable_settings.model_copy(update={"poll_interval_ms": 10})
    with TestClient(create_app(settings, clock=clock)) as client:
        deadline = time.monotonic() + 10
        while (answer := client.get("/healthz")).status_code != 503:
            assert time.monotonic() < deadline, "never reported"
            time.sleep(0.02)
        assert "the sealer halted: merkle_state says 2 leaves are sealed" in answer.json()["detail"]

    sealed.db.execute(
        "UPDATE merkle_state SET tree_size = %s, last_notification_id = %s, frontier = %s",
        tuple(row),
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        deadline = time.monotonic() + 10
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "still reported after the mend and a restart"
            time.sleep(0.02)
    assert _status(durable_settings)[0] == 0


def test_ledger_seal_on_a_moved_back_record_fails_naming_the_reason_without_a_traceback(
    sealed: Stores, durable_settings: Settings
) -> None:
    _move_back(sealed)
    env = {"LEDGER_DATABASE_URL": durable_settings.database_url,
           "LEDGER_DATA_DIR": str(durable_settings.data_dir), "COLUMNS": "400"}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["seal"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "FAILED: the sealer stopped:" in result.output and "merkle_state" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
