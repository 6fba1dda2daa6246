"""The same store behaviour on memory, a SQLite file and the real PostgreSQL server."""

from __future__ import annotations

from uuid import uuid4

import pytest

from api.bootstrap import Stores
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
    from api.bootstrap import open_stores
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


# One global order
def test_every_command_answers_with_the_position_of_its_last_event_in_one_rising_order(
    stores: Stores, clock
) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme B.V.", "officer-1").aggregate.id
    positions = [
        ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket").position,
        ledger.register_subject("Dee", "dee@example.org", "app", tenant).position,
        ledger.report_incident("Leak", "details", "low", [tenant], "officer-1").position,
        ledger.record_disclosure(tenant, "Court", "court_order", "ref", "officer-1").position,
    ]
    request = ledger.receive_data_request(
        ledger.register_subject("Eve", "eve@example.org", "app").aggregate.id,
        "access", "email", "officer-1",
    )
    positions.append(request.position)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    notifications = ledger.recorder.select_notifications(1, 1000)
    assert [n.id for n in notifications] == sorted(n.id for n in notifications)
    assert notifications[-1].id == request.position, "both events of one save, in one order"
    decoded = [ledger.mapper.to_domain_event(n) for n in notifications]
    assert [type(e).__name__ for e in decoded][-2:] == ["Received", "RequestOpened"]


def test_everything_reads_back_after_reopening_the_store(
    durable_database_url: str, tmp_path, clock
) -> None:
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    first = open_stores(settings, clock=clock)
    ledger = first.ledger
    tenant = ledger.open_tenant("Acme B.V.", "officer-1").aggregate.id
    subject = ledger.register_subject("Fay", "fay@example.org", "app", tenant).aggregate.id
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    grant = ledger.request_access(tenant, "staff-1", "export", ["orders"], "ticket").aggregate.id
    ledger.approve_access(grant, "customer-1")
    ledger.use_access(grant, "staff-1", "orders", "export")
    ledger.terminate_tenant(tenant, "officer-1")
    count = len(ledger.recorder.select_notifications(1, 1000))
    first.close()

    again = open_stores(settings, clock=clock)
    try:
        ledger = again.ledger
        assert len(ledger.recorder.select_notifications(1, 1000)) == count
        assert ledger.tenant(tenant).status == "terminated"
        assert ledger.tenant(tenant).name == "Acme B.V.", "the key table survived too"
        assert ledger.subject(subject).is_allowed("info_mail")
        assert ledger.access_request(grant).status == "used"
    finally:
        again.close()


@pytest.mark.parametrize("loader", ["tenant", "subject", "access_request", "data_request",
                                    "incident", "disclosure"])
def test_an_unknown_id_is_not_found_for_every_kind(stores: Stores, loader: str) -> None:
    with pytest.raises(NotFound):
        getattr(stores.ledger, loader)(uuid4())


def test_an_id_of_another_kind_is_not_found_either(stores: Stores) -> None:
    tenant = stores.ledger.open_tenant("Acme", "officer-1").aggregate.id
    with pytest.raises(NotFound):
        stores.ledger.subject(tenant)
    with pytest.raises(NotFound):
        stores.ledger.give_consent(tenant, "info_mail", "web_form", "v1", "app")


# Optimistic concurrency
def test_the_store_refuses_a_change_decided_on_a_stale_read(stores: Stores) -> None:
    from eventsourcing.persistence import IntegrityError

    ledger = stores.ledger
    subject_id = ledger.register_subject("Gus", "gus@example.org", "app").aggregate.id
    first, second = ledger.subject(subject_id), ledger.subject(subject_id)
    first.give_consent("info_mail", "web_form", "v1", "app", ledger.now())
    second.give_consent("profiling", "web_form", "v1", "app", ledger.now())
    ledger.save(first)
    with pytest.raises(IntegrityError):
        ledger.save(second)
    assert [type(e).__name__ for e in ledger.events.get(subject_id)] == [
        "Registered", "ConsentGiven"
    ]


def test_two_ledgers_on_one_store_changing_one_subject_at_once_both_succeed(
    durable_database_url: str, tmp_path, clock
) -> None:
    import threading

    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    settings = make_settings(durable_database_url, tmp_path / "var")
    one, two = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    try:
        subject_id = one.ledger.register_subject("Hal", "hal@example.org", "app").aggregate.id
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def change(stores: Stores, purpose: str) -> None:
            try:
                start.wait()
                for version in range(10):
                    stores.ledger.give_consent(subject_id, purpose, "web_form", f"v{version}", "app")
            except BaseException as error:  # reported below, with the thread's own error
                errors.append(error)

        threads = [threading.Thread(target=change, args=(one, "info_mail")),
                   threading.Thread(target=change, args=(two, "product_mail"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert errors == []
        events = list(two.ledger.events.get(subject_id))
        assert [e.originator_version for e in events] == list(range(1, 22))
        for purpose in ("info_mail", "product_mail"):
            versions = [e.notice_version for e in events[1:] if e.purpose == purpose]
            assert versions == [f"v{n}" for n in range(10)], "each writer's changes in its order"
        ids = [n.id for n in one.ledger.recorder.select_notifications(1, 1000)]
        assert ids == sorted(ids) and len(ids) == 21
        assert one.ledger.subject(subject_id).is_allowed("product_mail")
    finally:
        one.close()
        two.close()


# Tampering with the stored bytes
def test_a_tampered_envelope_in_the_store_is_an_error_not_wrong_data(
    durable_database_url: str, tmp_path, clock
) -> None:
    import json

    from api.bootstrap import open_stores
    from domain.errors import StoredDataTampered
    from tests.conftest import make_settings

    stores = open_stores(make_settings(durable_database_url, tmp_path / "var"), clock=clock)
    try:
        ledger = stores.ledger
        subject_id = ledger.register_subject("Ivo", "ivo@example.org", "app").aggregate.id
        ledger.rectify_subject(subject_id, "officer-1", email="ivo@example.net")
        registered, rectified = ledger.recorder.select_notifications(1, 10)
        state = json.loads(rectified.state)
        state["email"] = json.loads(registered.state)["email"]  # the old envelope, copied over
        # The library's own tables: SQLite keeps ids as hex text, PostgreSQL as uuid.
        table, key = (
            ("stored_events", subject_id.hex) if stores.db.dialect == "sqlite"
            else ("ledger_events", subject_id)
        )
        changed = stores.db.execute(
            f"UPDATE {table} SET state = %s WHERE originator_id = %s AND originator_version = 2",
            (json.dumps(state).encode(), key),
        )
        assert changed == 1

        with pytest.raises(StoredDataTampered):
            ledger.subject(subject_id)
    finally:
        stores.close()
