"""Every checkpoint is also a C2SP signed note under the log's own name, chosen once per store."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from api import keyfiles
from api.bootstrap import Stores, log_origin, make_sealer
from api.settings import Settings
from projections.merkle_log.notes import OriginMismatch, note_at, stored_origin
from projections.merkle_log.signed_notes import parse_note, parse_vkey, signed_by
from projections.merkle_log.store import latest_checkpoint
from projections.merkle_log.tlog_checkpoint import log_verifier, parse_checkpoint
from tests.conftest import make_settings


def _record_some_events(stores: Stores, subjects: int = 3) -> None:
    tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        stores.ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)


def test_the_sealers_checkpoint_is_a_note_the_logs_verifier_key_opens(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    _record_some_events(durable_stores)
    sealer = make_sealer(durable_stores, durable_settings)
    sealer.seal_pending()
    key = keyfiles.signing_key(durable_settings)
    signed = latest_checkpoint(durable_stores.db)
    assert signed is not None

    note = note_at(durable_stores.db, key)
    assert note is not None
    reparsed = parse_note(note.render())
    origin = stored_origin(durable_stores.db)
    assert signed_by(reparsed, log_verifier(origin, key))
    body = parse_checkpoint(reparsed.text)
    assert (body.origin, body.tree_size, body.root_hash) == (
        origin, signed.tree_size, signed.root_hash
    )
    sealer.stop()


def test_a_log_is_named_once_and_a_different_configured_name_is_refused(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    first = log_origin(durable_stores, durable_settings)
    assert " " not in first and first.startswith("127.0.0.1:8000/compliance-ledger/")
    assert log_origin(durable_stores, durable_settings) == first
    renamed = durable_settings.model_copy(update={"log_origin": "elsewhere.example/log"})
    with pytest.raises(OriginMismatch, match="elsewhere.example/log"):
        log_origin(durable_stores, renamed)


def test_a_configured_origin_names_a_new_store(tmp_path) -> None:
    from api.bootstrap import open_stores

    settings = make_settings(
        f"sqlite:///{tmp_path}/l.sqlite", tmp_path / "var", log_origin="ledger.example.com/prod"
    )
    stores = open_stores(settings)
    try:
        assert log_origin(stores, settings) == "ledger.example.com/prod"
    finally:
        stores.close()


def test_a_store_from_before_notes_serves_its_latest_checkpoint_as_a_note_once_the_sealer_starts(
    durable_stores: Stores, durable_settings: Settings
) -> None:
    from projections.merkle_log.sealer import Sealer

    _record_some_events(durable_stores)
    key = keyfiles.signing_key(durable_settings)
    Sealer(durable_stores.ledger, durable_stores.db, key).seal_pending()  # no origin: as before
    assert note_at(durable_stores.db, key) is None

    make_sealer(durable_stores, durable_settings).seal_pending()
    note = note_at(durable_stores.db, key)
    assert note is not None
    assert parse_checkpoint(note.text).tree_size == latest_checkpoint(durable_stores.db).tree_size


def test_ledger_public_key_vkey_prints_the_key_that_opens_the_served_notes(
    durable_stores: Stores, durable_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli.main import app
    from api.settings import get_settings

    _record_some_events(durable_stores)
    make_sealer(durable_stores, durable_settings).seal_pending()
    monkeypatch.setenv("LEDGER_DATABASE_URL", durable_settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(durable_settings.data_dir))
    get_settings.cache_clear()
    try:
        printed = CliRunner().invoke(app, ["public-key", "--vkey"])
    finally:
        get_settings.cache_clear()
    assert printed.exit_code == 0, printed.output
    verifier = parse_vkey(printed.output.strip())
    note = note_at(durable_stores.db, keyfiles.signing_key(durable_settings))
    assert note is not None and signed_by(note, verifier)
    assert verifier.name == stored_origin(durable_stores.db)


@pytest.mark.parametrize("options, named", [
    (["--witness", "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"],
     "--witness"),  # the log's kind of key (0x01), not a witness's cosignature key
    (["--witness", "w.example/1+00000000+BAAA"], "--witness"),
    (["--witness", "witness.customer.example/w1+b281f810+BJ3TLX6hLEShf5PvVr8AKcs+UzPpb75vJQlJh3SeoXRu",
      "--quorum", "2"], "--quorum"),
])
def test_ledger_verify_refuses_witness_options_that_cannot_be_checked(
    durable_settings: Settings, monkeypatch: pytest.MonkeyPatch, options: list[str], named: str
) -> None:
    from api.cli.main import app
    from api.settings import get_settings

    monkeypatch.setenv("LEDGER_DATABASE_URL", durable_settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(durable_settings.data_dir))
    monkeypatch.setenv("COLUMNS", "400")  # the error box in one line
    keyfiles.signing_key(durable_settings)
    get_settings.cache_clear()
    try:
        answered = CliRunner().invoke(app, ["verify", *options])
    finally:
        get_settings.cache_clear()
    assert answered.exit_code == 2, answered.output
    assert named in answered.output
