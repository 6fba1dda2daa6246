"""`ledger verify` reads the events table itself on SQLite and PostgreSQL (projections/audit/event_rows.py
`event_source`), without building the recorder's Notification objects, and hashes the rows a
chunk at a time. These tests hold it to reading exactly what the recorder's
`select_notifications` reads, and to hashing it as the sealer does, on every store, including
rows an intruder wrote with the originator id in another form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from api.bootstrap import Stores
from projections.merkle_log.leaves import notification_leaf_hash
from projections.audit.event_rows import EventSource, event_batches, event_source


def _some_events(stores: Stores, subjects: int = 6) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate
    for i in range(subjects):
        subject = ledger.register_subject(f"Person {i}", f"p{i}@example.org", "app", tenant.id)
        ledger.give_consent(subject.aggregate.id, "info_mail", "web_form", "v1", "app")


def _as_recorder_reads(notification: Any) -> tuple[Any, ...]:
    return (
        notification.id, str(notification.originator_id), notification.originator_version,
        notification.topic, bytes(notification.state),
    )


def _read(recorder: Any, chunk: int = 1000) -> list[list[tuple[Any, ...]]]:
    source = event_source(recorder, chunk)
    return [[_as_read(source, row) for row in rows] for rows in source.chunks]


def _as_read(source: EventSource, row: tuple[Any, ...]) -> tuple[Any, ...]:
    notification_id, originator_id, version, topic, state = row
    return notification_id, source.originator_text(originator_id), version, topic, bytes(state)


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_the_rows_are_what_the_recorder_reads_in_the_same_chunks(stores: Stores, chunk: int) -> None:
    _some_events(stores)
    recorder = stores.ledger.recorder

    expected = [[_as_recorder_reads(n) for n in batch] for batch in event_batches(recorder, chunk)]
    read = _read(recorder, chunk)

    assert read == expected
    assert sum(map(len, read)) > 12


def test_each_row_hashes_to_the_leaf_the_sealer_computes_from_the_notification(stores: Stores) -> None:
    _some_events(stores)
    recorder = stores.ledger.recorder
    expected = [notification_leaf_hash(n) for batch in event_batches(recorder) for n in batch]
    source = event_source(recorder, 4)

    by_chunk, one_by_one = [], []
    for rows in source.chunks:
        by_chunk += source.leaf_hashes(rows)
        one_by_one += [source.leaf_hash(row) for row in rows]

    assert by_chunk == expected
    assert one_by_one == expected


def _insert_sqlite_row(stores: Stores, rowid: int, originator_id: Any) -> None:
    stores.db.execute(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
        "VALUES (%s, %s, %s, %s, %s)",
        (rowid, originator_id, 1, "domain.x:Y", b"{}"),
    )


@pytest.mark.parametrize("form", [
    lambda u: u.hex.upper(),
    lambda u: str(u),
    lambda u: "{" + str(u) + "}",
    lambda u: "urn:uuid:" + u.hex,
])
def test_an_originator_id_stored_in_another_form_reads_as_the_recorder_normalises_it(
    sqlite_stores: Stores, form: Any
) -> None:
    stores = sqlite_stores
    _some_events(stores, subjects=2)
    originator = uuid4()
    _insert_sqlite_row(stores, 1000, form(originator))
    recorder = stores.ledger.recorder

    rows = [row for rows in _read(recorder) for row in rows]

    assert rows == [_as_recorder_reads(n) for batch in event_batches(recorder) for n in batch]
    assert rows[-1][1] == str(originator)


@pytest.mark.parametrize("stored", ["not a uuid", 12345, b"\x01" * 16, "0" * 31 + "g"])
def test_an_originator_id_the_recorder_cannot_read_fails_the_same_way(
    sqlite_stores: Stores, stored: Any
) -> None:
    stores = sqlite_stores
    _some_events(stores, subjects=1)
    _insert_sqlite_row(stores, 1000, stored)
    recorder = stores.ledger.recorder

    with pytest.raises(Exception) as by_recorder:
        list(event_batches(recorder))
    with pytest.raises(Exception) as by_rows:
        _read(recorder)

    assert by_rows.type is by_recorder.type


def test_both_durable_stores_give_the_canonical_uuid_text(durable_stores: Stores) -> None:
    _some_events(durable_stores, subjects=1)

    for rows in _read(durable_stores.ledger.recorder):
        for row in rows:
            assert row[1] == str(UUID(row[1]))


@pytest.fixture
def sqlite_stores(tmp_path: Any, clock: Any) -> Iterator[Stores]:
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    stores = open_stores(make_settings(f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var"), clock=clock)
    try:
        yield stores
    finally:
        stores.close()


@pytest.mark.parametrize("stored", [
    " " + "0" * 31,  # int(..., 16) takes the space: the recorder reads UUID(int=0)
    "0" * 31 + "\n",
    "ab" * 15 + "AB",
])
def test_odd_but_readable_originator_ids_read_as_the_recorder_reads_them(
    sqlite_stores: Stores, stored: str
) -> None:
    stores = sqlite_stores
    _some_events(stores, subjects=1)
    _insert_sqlite_row(stores, 1000, stored)
    recorder = stores.ledger.recorder

    rows = [row for rows in _read(recorder) for row in rows]

    assert rows == [_as_recorder_reads(n) for batch in event_batches(recorder) for n in batch]
    assert rows[-1][1] == str(UUID(stored))


def test_ids_too_short_and_too_long_do_not_pass_for_two_good_ones(sqlite_stores: Stores) -> None:
    stores = sqlite_stores
    _some_events(stores, subjects=1)
    _insert_sqlite_row(stores, 1000, "0" * 31)
    _insert_sqlite_row(stores, 1001, "0" * 33)
    recorder = stores.ledger.recorder

    with pytest.raises(ValueError):
        list(event_batches(recorder))
    with pytest.raises(ValueError):
        _read(recorder)


def test_a_connection_lost_mid_pass_on_postgres_goes_on_from_the_last_chunk_handed_out(
    pg_url: str, tmp_path: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    import projections.audit.event_rows as event_rows
    from api.bootstrap import open_stores
    from tests.conftest import make_settings

    stores = open_stores(make_settings(pg_url, tmp_path / "var"), clock=clock)
    try:
        _some_events(stores)
        recorder = stores.ledger.recorder
        asked = []
        ask = event_rows._ask

        def failing_third(*args: Any) -> Any:
            asked.append(args)
            if len(asked) == 3:
                raise psycopg.OperationalError("the server closed the connection")
            return ask(*args)

        monkeypatch.setattr(event_rows, "_ask", failing_third)

        assert _read(recorder, 4) == [
            [_as_recorder_reads(n) for n in batch] for batch in event_batches(recorder, 4)
        ]
        assert len(asked) == 3
    finally:
        stores.close()
