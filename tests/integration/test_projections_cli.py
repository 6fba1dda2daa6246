"""`ledger projections status | rebuild | check` against a SQLite file and real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from api.bootstrap import start_read_side
from api.settings import Settings, get_settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from tests.conftest import make_settings


@pytest.fixture
def cli_settings(
    durable_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The CLI reads LEDGER_* from the environment, as it would in a shell."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("LEDGER_DATABASE_URL", durable_database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield make_settings(durable_database_url, tmp_path / "var")
    get_settings.cache_clear()


@pytest.fixture
def projected(cli_settings: Settings, clock: MovableClock) -> Iterator[tuple[Stores, dict[str, str]]]:
    """A small history, projected, and the ids a test may tamper with."""
    stores = open_stores(cli_settings, clock=clock)
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    subject = ledger.register_subject("Ann de Vries", "ann@example.org", "app", tenant).aggregate.id
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 4").aggregate.id
    ledger.approve_access(request, "customer-1")
    ledger.use_access(request, "staff-1", "orders/1", "read")
    start_read_side(stores, cli_settings, run_projections=False).runner.catch_up()
    try:
        yield stores, {"tenant": str(tenant), "subject": str(subject), "request": str(request)}
    finally:
        stores.close()


def test_check_passes_when_nobody_changed_a_read_model(projected: tuple[Stores, dict[str, str]]) -> None:
    result = CliRunner().invoke(app, ["projections", "check"])
    assert result.exit_code == 0, result.output
    assert "rows match the events" in result.output


def test_check_names_a_row_changed_by_hand_and_exits_1(
    projected: tuple[Stores, dict[str, str]]
) -> None:
    stores, ids = projected
    stores.db.execute(
        "UPDATE subject_consents SET status = 'withdrawn' WHERE subject_id = %s", (ids["subject"],)
    )
    stores.db.execute("DELETE FROM access_log")

    result = CliRunner().invoke(app, ["projections", "check"])

    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert f"subject_consents row (subject_id={ids['subject']}, purpose=info_mail, channel=*)" in output
    assert "status: live 'withdrawn', events say 'given'" in output
    assert "access_log row (position=" in output and "missing from the live table" in output


def test_check_finds_a_sealed_field_moved_between_rows_without_showing_it(
    projected: tuple[Stores, dict[str, str]]
) -> None:
    stores, ids = projected
    # Copy the (sealed) name into the email column: the ciphertext is genuine, but it was made
    # for another column, so it no longer opens.
    stores.db.execute("UPDATE subject_profiles SET email = name WHERE id = %s", (ids["subject"],))

    result = CliRunner().invoke(app, ["projections", "check"])

    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"subject_profiles row (id={ids['subject']}): email (sealed) differs" in output
    assert "Ann de Vries" not in output and "ann@example.org" not in output


def test_rebuild_restores_what_was_changed_by_hand(projected: tuple[Stores, dict[str, str]]) -> None:
    stores, ids = projected
    stores.db.execute("UPDATE tenants SET status = 'purged' WHERE id = %s", (ids["tenant"],))

    rebuilt = CliRunner().invoke(app, ["projections", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rebuilt" in rebuilt.output

    assert stores.db.fetchone("SELECT status FROM tenants WHERE id = %s", (ids["tenant"],)) == ("active",)
    assert CliRunner().invoke(app, ["projections", "check"]).exit_code == 0


def test_rebuild_of_an_unknown_read_model_is_refused(projected: tuple[Stores, dict[str, str]]) -> None:
    result = CliRunner().invoke(app, ["projections", "rebuild", "--only", "horoscopes"])
    assert result.exit_code != 0
    assert "horoscopes" in result.output


def test_status_shows_how_far_behind_each_read_model_is(
    projected: tuple[Stores, dict[str, str]]
) -> None:
    stores, ids = projected
    stores.ledger.give_consent(UUID(ids["subject"]), "blog_mail", "web_form", "v1", "app")  # not projected
    head = stores.ledger.recorder.max_notification_id()

    result = CliRunner().invoke(app, ["projections", "status"])

    assert result.exit_code == 0, result.output
    assert f"log head: {head}" in result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 3:
            rows[cells[0]] = cells[1:]
    assert rows["subject_profiles"] == [str(head - 1), "1"]
    assert set(rows) >= {"tenants", "access_log", "access_requests", "data_requests",
                          "incidents", "disclosures"}
