"""Storing the answer of a request with an `Idempotency-Key` when the database falters: a short
outage is waited out (the answer is kept and replayed), a bug is not retried but told to the
operator, and a claim whose commit went unanswered is withdrawn, so the client's retry runs.
Found by `make mutate`: `_settle`'s retries and the withdrawal's moment could be broken with
every test green (the clock of the tests stood still, and no test failed a store step)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg
import pytest

from api.http import idempotency
from domain.clock import MovableClock
from tests.e2e.conftest import Api, created

TENANT = {"name": "Acme B.V."}


class TickingClock(MovableClock):
    """A clock that moves on by a microsecond whenever it is read, as a real one does."""

    def now(self) -> datetime:
        return self.move(microseconds=1)


@pytest.fixture
def clock() -> MovableClock:
    return TickingClock()


def _post(api: Api, key: str) -> Any:
    return api.user("officer", "olga").post(
        "/v1/tenants", json=TENANT, headers={"Idempotency-Key": key}
    )


def _failing(api: Api, step: str, errors: list[Exception]) -> list[str]:
    """The store's `step` raises each of `errors` in turn (after doing its work, for a claim:
    its commit went unanswered), then works again. Returns the list of attempts."""
    store = api.app.state.idempotency
    real = getattr(store, step)
    attempts: list[str] = []

    def failing(*args: Any) -> Any:
        attempts.append(step)
        if step == "claim" and errors:
            real(*args)
        if errors:
            raise errors.pop(0)
        return real(*args)

    failing.__name__ = step
    setattr(store, step, failing)
    return attempts


def test_an_answer_whose_storing_meets_a_short_outage_is_kept_once_the_database_is_back(
    sqlite_api: Api
) -> None:
    api = sqlite_api
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    attempts = _failing(api, "finish", [lost, lost])

    first = created(_post(api, "key-1"))
    events = api.events()
    again = _post(api, "key-1")

    assert attempts == ["finish"] * 3, "two failures waited out, then stored"
    assert (again.json(), again.headers["idempotent-replayed"]) == (first, "true")
    assert api.events() == events


def test_a_bug_while_storing_an_answer_is_not_retried_and_the_operator_is_told(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    api = sqlite_api
    monkeypatch.setattr(idempotency, "SETTLE_SECONDS", 1.0)  # a retry would come within it
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    attempts = _failing(api, "finish", [RuntimeError("a bug"), RuntimeError("a bug")])

    with caplog.at_level(logging.WARNING, logger="ledger.api"):
        first = created(_post(api, "key-2"))  # the answer reaches the client all the same

    assert attempts == ["finish"], "a bug is not an outage: no second try"
    assert [r.getMessage() for r in caplog.records if r.name == "ledger.api"] == [
        "could not finish an idempotency key (RuntimeError); the claim lapses in 0:02:00"
    ]
    assert _post(api, "key-2").status_code == 409, "not stored: the key is still claimed"
    api.clock.move(minutes=2, seconds=1)
    later = created(_post(api, "key-2"))
    assert later["id"] != first["id"], "the lapsed claim was taken over by the retry"


def test_a_claim_whose_commit_went_unanswered_is_withdrawn_and_the_retry_runs(
    sqlite_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = sqlite_api
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 2.0)  # the withdrawal runs meanwhile
    _failing(api, "claim", [psycopg.OperationalError("server closed the connection")])
    before = api.events()

    assert _post(api, "key-3").status_code == 503
    retried = _post(api, "key-3")

    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    assert api.events() == before + 1
