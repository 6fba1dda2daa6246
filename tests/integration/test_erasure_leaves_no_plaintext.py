"""After an erasure no plaintext of the person is anywhere in the database, yet every event remains."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from api.settings import Settings
from api.bootstrap import Stores
from projections.storage.sqlite import sqlite_path

NAME = "Zoë Verhoeven-Ångström"
EMAIL = "zoe.verhoeven@example.org"


def _raw_bytes(settings: Settings) -> bytes:
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(sqlite_path(url))
        return b"".join(
            p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()
        )
    # The URL itself, so a server named by LEDGER_TEST_POSTGRES_URL (host, port, password)
    # is dumped just as the tests reached it.
    dump = subprocess.run(
        ["pg_dump", "--data-only", f"--dbname={url}"], check=True, capture_output=True,
    )
    return dump.stdout


def test_erasing_a_subject_leaves_neither_email_nor_name_in_the_stored_bytes(
    durable_database_url: str, tmp_path: Path, clock
) -> None:
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    stores: Stores = open_stores(settings, clock=clock)
    try:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Acme", "officer-1")
        subject = ledger.register_subject(NAME, EMAIL, "app", tenant.aggregate.id, "+31612340000")
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


def test_purging_a_tenant_leaves_none_of_its_or_its_subjects_plaintext_in_the_stored_bytes(
    durable_database_url: str, tmp_path: Path, clock
) -> None:
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    stores: Stores = open_stores(settings, clock=clock)
    try:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Loodgietersbedrijf Kwakkel", "officer-1").aggregate.id
        for name, email in ((NAME, EMAIL), ("Pim Kwakkel", "pim.kwakkel@example.org")):
            subject = ledger.register_subject(name, email, "app", tenant).aggregate.id
            ledger.give_consent(subject, "info_mail", "web_form", "v1", "app",
                                ip_address="203.0.113.99")
        request = ledger.request_access(
            tenant, "staff-1", "read", ["orders"], "Pim Kwakkel cannot see his invoices"
        ).aggregate.id
        ledger.deny_access(request, "customer-1", "Kwakkel will call back")
        ledger.terminate_tenant(tenant, "officer-1")
        clock.move(days=61)
        before = len(ledger.recorder.select_notifications(1, 1000))

        ledger.purge_tenant(tenant, "officer-1")

        assert len(ledger.recorder.select_notifications(1, 1000)) == before + 1
        raw = _raw_bytes(settings)
        for secret in (NAME, EMAIL, "Verhoeven", "Kwakkel", "pim.kwakkel", "203.0.113.99"):
            assert secret.encode() not in raw, secret
            assert secret.encode("utf-16-le") not in raw, secret
    finally:
        stores.close()


def test_the_key_table_keeps_a_fence_without_key_material_for_an_erased_subject(
    durable_database_url: str, tmp_path: Path, clock
) -> None:
    from api.bootstrap import open_stores
    from domain.ledger.keys import KeyShredded
    from tests.conftest import make_settings

    stores: Stores = open_stores(make_settings(durable_database_url, tmp_path / "var"), clock=clock)
    try:
        subject = stores.ledger.register_subject(NAME, EMAIL, "app").aggregate.id
        stores.ledger.erase_subject(subject, "officer-1")
        row = stores.db.fetchone(
            "SELECT wrapped_key, shredded_at FROM data_keys WHERE owner_id = %s", (str(subject),)
        )
        assert row is not None and row[0] is None and row[1]
        with pytest.raises(KeyShredded):
            stores.keys.create(subject)
        with pytest.raises(KeyShredded):
            stores.ledger.rectify_subject(subject, "officer-1", name="Back again")
    finally:
        stores.close()
