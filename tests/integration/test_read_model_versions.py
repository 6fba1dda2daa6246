"""Read models that change shape: a bumped `version` rebuilds the read model at the next start,
and matching versions leave it alone, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.tenant import Tenant
from projections.read_models.base import Handler, Projection
from projections.read_models.writes import Writes
from projections.read_models.runner import ProjectionRunner
from projections.read_models.tables import VERSIONS_TABLE
from projections.storage.tables import Table
from tests.conftest import make_settings

NOTES_V1 = Table(
    "test_tenant_notes",
    "id TEXT NOT NULL, actor TEXT NOT NULL, position {big_int} NOT NULL",
    key=("id",),
)
# Version 2: a column more, and an index on it (which the old table could not take).
NOTES_V2 = Table(
    "test_tenant_notes",
    "id TEXT NOT NULL, actor TEXT NOT NULL, location TEXT NOT NULL, position {big_int} NOT NULL",
    key=("id",),
    indexes=("test_tenant_notes_by_location ON test_tenant_notes (location)",),
)


class NotesV1(Projection):
    name = "test_tenant_notes"
    tables = (NOTES_V1,)

    def handlers(self) -> dict[type, Handler]:
        return {Tenant.Created: self._created}

    def _created(self, w: Writes, event: Any, position: int) -> None:
        w.insert(NOTES_V1, {
            "id": str(event.originator_id), "actor": event.actor, "position": position,
        })


class NotesV2(NotesV1):
    version = 2
    tables = (NOTES_V2,)

    def _created(self, w: Writes, event: Any, position: int) -> None:
        w.insert(NOTES_V2, {
            "id": str(event.originator_id), "actor": event.actor, "location": event.location,
            "position": position,
        })


LOCATIONS = ("NL", "IE", "NL")


def _opened(stores: Stores, count: int) -> int:
    for n in range(count):
        stores.ledger.open_tenant(f"Tenant {n}", f"officer-{n}", LOCATIONS[n])
    return int(stores.ledger.recorder.max_notification_id())


def _notes(stores: Stores, columns: str) -> list[tuple[Any, ...]]:
    return stores.db.fetchall(f"SELECT {columns} FROM test_tenant_notes ORDER BY position")


def test_a_read_model_whose_tables_changed_is_rebuilt_at_start_with_the_new_column_filled(
    durable_stores: Stores,
) -> None:
    stores = durable_stores
    head = _opened(stores, 3)
    ProjectionRunner(stores.ledger, stores.db, [NotesV1()]).catch_up()
    assert [actor for (actor,) in _notes(stores, "actor")] == [f"officer-{n}" for n in range(3)]

    runner = ProjectionRunner(stores.ledger, stores.db, [NotesV2()])  # the next start
    assert runner.positions() == {"test_tenant_notes": 0}, "set back to be rebuilt"
    assert _notes(stores, "id") == [], "made anew"
    runner.catch_up()

    assert runner.position() == head
    assert _notes(stores, "actor, location") == [(f"officer-{n}", LOCATIONS[n]) for n in range(3)]
    assert stores.db.fetchall(f"SELECT version FROM {VERSIONS_TABLE} WHERE name = %s",
                              ("test_tenant_notes",)) == [(2,)]


def test_a_read_model_whose_version_matches_is_not_rebuilt(durable_stores: Stores) -> None:
    stores = durable_stores
    head = _opened(stores, 2)
    ProjectionRunner(stores.ledger, stores.db, [NotesV2()]).catch_up()
    stores.db.execute("UPDATE test_tenant_notes SET actor = 'kept'")  # a rebuild would undo it

    runner = ProjectionRunner(stores.ledger, stores.db, [NotesV2()])

    assert runner.positions() == {"test_tenant_notes": head}
    assert {actor for (actor,) in _notes(stores, "actor")} == {"kept"}


def test_a_store_from_before_versions_were_kept_counts_as_version_1(durable_stores: Stores) -> None:
    stores = durable_stores
    head = _opened(stores, 2)
    ProjectionRunner(stores.ledger, stores.db, [NotesV1()]).catch_up()
    stores.db.executescript(f"DROP TABLE {VERSIONS_TABLE};")

    assert ProjectionRunner(stores.ledger, stores.db, [NotesV1()]).position() == head
    assert ProjectionRunner(stores.ledger, stores.db, [NotesV2()]).position() == 0


def test_several_processes_starting_at_once_rebuild_a_changed_read_model_once(
    durable_database_url: str, tmp_path: Path, clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    writer = open_stores(settings, clock=clock)
    starting = [open_stores(settings, clock=clock) for _ in range(4)]
    try:
        head = _opened(writer, 3)
        ProjectionRunner(writer.ledger, writer.db, [NotesV1()]).catch_up()
        barrier = threading.Barrier(len(starting))
        runners: list[ProjectionRunner] = []
        errors: list[BaseException] = []

        def start(stores: Stores) -> None:
            try:
                barrier.wait()
                runner = ProjectionRunner(stores.ledger, stores.db, [NotesV2()])
                runner.catch_up()
                runners.append(runner)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=start, args=(s,)) for s in starting]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        rebuilt = [r for r in caplog.records if "test_tenant_notes changed shape" in r.getMessage()]
        assert len(rebuilt) == 1, "the first to start rebuilds it, the others find it done"
        assert runners[0].position() == head
        assert _notes(writer, "actor, location") == [
            (f"officer-{n}", LOCATIONS[n]) for n in range(3)
        ], "each event applied once"
    finally:
        for opened in [writer, *starting]:
            opened.close()
