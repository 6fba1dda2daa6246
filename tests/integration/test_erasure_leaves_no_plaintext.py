"""After an erasure no plaintext of the person is anywhere in the database, yet every event remains."""

from __future__ import annotations

import subprocess
from pathlib import Path

from api.settings import Settings
from api.wiring import Stores
from projections.database import sqlite_path

NAME = "Zoë Verhoeven-Ångström"
EMAIL = "zoe.verhoeven@example.org"


def _raw_bytes(settings: Settings) -> bytes:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(sqlite_path(url))
        return b"".join(
            p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()
        )
    dbname = url.rpartition("/")[2]
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", "127.0.0.1", "-U", "postgres", dbname],
        check=True, capture_output=True,
    )
    return dump.stdout


def test_erasing_a_subject_leaves_neither_email_nor_name_in_the_stored_bytes(
    durable_database_url: str, tmp_path: Path, clock
) -> None:
    from api.wiring import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    stores: Stores = open_stores(settings, clock=clock)
    try:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Acme", "officer-1")
        subject = ledger.register_subject(NAME, EMAIL, "app", tenant.aggregate.id, "+31 6 1234")
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
        ledger.rectify_subject(subject.aggregate.id, "officer-1", email="zoe@example.org")
        before = len(list(ledger.recorder.select_notifications(1, 1000)))

        ledger.erase_subject(subject.aggregate.id, "officer-1")

        after = list(ledger.recorder.select_notifications(1, 1000))
        assert len(after) == before + 1, "every event is still there, plus the fence"
        raw = _raw_bytes(settings)
        assert raw, "the dump read something"
        for secret in (NAME, EMAIL, "zoe@example.org", "Verhoeven"):
            assert secret.encode() not in raw
            assert secret.encode("utf-16-le") not in raw
    finally:
        stores.close()
