"""A healthy batch is applied whole: one transaction for every read model, no warning. The
fallback for a batch that fails (each read model apart, projections/read_models/failures.py) leaves the same
rows, so a runner that fell back on every batch would pass every test that only looks at rows;
it would also warn on every batch, take a transaction per read model and stop a read model for
an outage. These tests look at what the operator sees: the log, the positions, the failures."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
import pytest

from api.bootstrap import Stores
from projections.read_models.base import Projection
from projections.read_models.rebuild import check
from projections.read_models.runner import ProjectionRunner

APART = "applying each read model apart"


@pytest.fixture
def said(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.INFO, logger="ledger.projections")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "ledger.projections"]


def _a_day_of_work(stores: Stores) -> int:
    """Events for every kind of read model; returns the head."""
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 4").aggregate.id
    ledger.approve_access(request, "customer-1")
    for n in range(3):
        ledger.use_access(request, "staff-1", f"orders/{n}", "read")
        subject = ledger.register_subject(f"P{n}", f"p{n}@example.org", "app", tenant).aggregate.id
        ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    return int(ledger.recorder.max_notification_id())


def _named(runner: ProjectionRunner, name: str) -> list[Projection]:
    return [p for p in runner.projections if p.name == name]


def test_a_healthy_log_is_applied_in_whole_batches_without_a_word_and_matches_a_rebuild(
    durable_stores: Stores, durable_read_side: Any, said: Any
) -> None:
    head = _a_day_of_work(durable_stores)
    durable_read_side.runner.batch_size = 3

    durable_read_side.runner.catch_up()

    assert [m for m in said() if APART in m] == []
    assert durable_read_side.runner.failures() == []
    assert set(durable_read_side.runner.positions().values()) == {head}
    report = check(durable_stores.ledger, durable_stores.db, durable_stores.keys,
                   durable_read_side.runner.projections)
    assert report.ok, [d.describe() for d in report.differences]


def test_a_read_model_rebuilt_alone_catches_up_beside_the_others_and_theirs_are_not_applied_twice(
    durable_stores: Stores, durable_read_side: Any, said: Any
) -> None:
    head = _a_day_of_work(durable_stores)
    durable_read_side.runner.catch_up()
    ProjectionRunner(durable_stores.ledger, durable_stores.db,
                     _named(durable_read_side.runner, "access_log")).reset()

    durable_read_side.runner.catch_up()  # access_log from 1, the others already at the head

    assert [m for m in said() if APART in m] == []
    assert set(durable_read_side.runner.positions().values()) == {head}
    report = check(durable_stores.ledger, durable_stores.db, durable_stores.keys,
                   durable_read_side.runner.projections)
    assert report.ok, [d.describe() for d in report.differences]


def test_catching_up_to_each_position_in_turn_applies_exactly_up_to_it(
    durable_stores: Stores, durable_read_side: Any
) -> None:
    _a_day_of_work(durable_stores)
    ids = [n.id for n in durable_stores.ledger.recorder.select_notifications(1, 100)]

    for position in ids:
        assert durable_read_side.runner.catch_up(until=position) == 1
        assert durable_read_side.runner.position() == position


class _OutageAt:
    """The ledger as a runner sees it, except that decoding the event at `position` meets the
    database gone (the key store is read while decoding), once."""

    def __init__(self, ledger: Any, position: int) -> None:
        self.recorder = ledger.recorder
        self._mapper = ledger.mapper
        self._position: int | None = position

    @property
    def mapper(self) -> Any:
        return self

    def to_domain_event(self, notification: Any) -> Any:
        if notification.id == self._position:
            self._position = None
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return self._mapper.to_domain_event(notification)


class _HandlerMeetsAnOutage(Projection):
    """A read model whose handler meets the database gone at `position`, once."""

    def __init__(self, inner: Projection, position: int) -> None:
        self.name, self.tables, self.version = inner.name, inner.tables, inner.version
        self._inner = inner
        self._position: int | None = position

    def topics(self) -> dict[str, Any]:
        return {topic: self._wrap(handler) for topic, handler in self._inner.topics().items()}

    def _wrap(self, handler: Any) -> Any:
        def apply(writes: Any, event: Any, position: int) -> None:
            if position == self._position:
                self._position = None
                raise psycopg.OperationalError("server closed the connection unexpectedly")
            handler(writes, event, position)
        return apply


def test_an_outage_while_decoding_stops_no_read_model_and_the_batch_is_read_again(
    durable_stores: Stores, durable_read_side: Any, said: Any
) -> None:
    head = _a_day_of_work(durable_stores)
    runner = ProjectionRunner(_OutageAt(durable_stores.ledger, head - 2), durable_stores.db,
                              durable_read_side.runner.projections)

    with pytest.raises(psycopg.OperationalError):
        runner.catch_up()

    assert runner.failures() == []
    assert [m for m in said() if APART in m] == []
    runner.catch_up()
    assert set(runner.positions().values()) == {head}


def test_an_outage_while_applying_stops_no_read_model_and_the_batch_is_applied_again(
    durable_stores: Stores, durable_read_side: Any, said: Any
) -> None:
    head = _a_day_of_work(durable_stores)
    projections = [
        _HandlerMeetsAnOutage(p, head) if p.name == "subject_profiles" else p
        for p in durable_read_side.runner.projections
    ]
    runner = ProjectionRunner(durable_stores.ledger, durable_stores.db, projections)

    with pytest.raises(psycopg.OperationalError):
        runner.catch_up()

    assert runner.failures() == []
    assert [m for m in said() if APART in m] == []
    assert runner.catch_up() > 0
    assert set(runner.positions().values()) == {head}
