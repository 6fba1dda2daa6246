"""The same store behaviour on memory, a SQLite file and the real PostgreSQL server."""

from __future__ import annotations

from uuid import uuid4

import pytest

from api.wiring import Stores
from domain.errors import NotFound, SubjectErased
from domain.personal import ERASED


def test_events_get_one_global_order_across_aggregates(stores: Stores) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme B.V.", "officer-1")
    subject = ledger.register_subject("Ann", "ann@example.org", "app", tenant.aggregate.id)
    consent = ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
    assert tenant.position < subject.position < consent.position
    ids = [n.id for n in ledger.recorder.select_notifications(1, 100)]
    assert ids == sorted(ids) and len(ids) == 3


def test_a_subject_reads_back_decrypted_after_reopening_the_store(
    durable_database_url: str, tmp_path, clock
) -> None:
    from api.wiring import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    subject = stores.ledger.register_subject("Bea Jansen", "bea@example.org", "app")
    stores.close()

    again = open_stores(settings, clock=clock)
    try:
        assert again.ledger.subject(subject.aggregate.id).email == "bea@example.org"
    finally:
        again.close()


def test_an_unknown_id_is_not_found(stores: Stores) -> None:
    with pytest.raises(NotFound):
        stores.ledger.subject(uuid4())


def test_an_erased_subject_replays_as_erased_and_accepts_nothing_new(stores: Stores) -> None:
    ledger = stores.ledger
    subject = ledger.register_subject("Cas", "cas@example.org", "app")
    ledger.give_consent(subject.aggregate.id, "blog_mail", "checkbox", "v2", "app",
                        ip_address="192.0.2.7")
    ledger.erase_subject(subject.aggregate.id, "officer-1")
    events = list(ledger.subject_events(subject.aggregate.id))
    assert events[0].name == ERASED and events[0].email == ERASED
    assert events[1].ip_address == ERASED
    with pytest.raises(SubjectErased):
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")
    with pytest.raises(SubjectErased):
        stores.keys.create(subject.aggregate.id)
