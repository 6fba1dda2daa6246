"""Commits whose answer was lost: the database went away while they committed, so they may
be stored although the caller got an error. The crash itself is in
tests/reliability/test_database_outage.py; here the lost answer is played directly.

- An event insert, which the eventsourcing library retries (projections/storage/in_doubt_commits.py).
- An `Idempotency-Key` claim, which would hold the key "still running" (api/http/idempotency.py).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from api.http import idempotency
from projections.storage.idempotency import BUSY, MINE, IdempotencyStore
from api.bootstrap import Stores
from domain.clock import MovableClock


def a_subjects_first_event(stores: Stores) -> Any:
    subject_id = stores.ledger.register_subject("Ann", "ann@example.org", "crm").aggregate.id
    return stores.ledger.recorder.select_events(subject_id)[0]


@pytest.mark.postgres
def test_the_same_events_stored_again_answer_with_the_positions_they_already_have(
    pg_stores: Stores,
) -> None:
    recorder = pg_stores.ledger.recorder
    first = a_subjects_first_event(pg_stores)
    stored = [replace(first, originator_version=first.originator_version + 1),
              replace(first, originator_version=first.originator_version + 2)]

    ids = recorder.insert_events(stored)
    assert recorder.insert_events(stored) == ids, "the retry is answered as the first try was"
    assert len(recorder.select_events(first.originator_id)) == 3, "and nothing is stored twice"


@pytest.mark.postgres
def test_another_writers_event_at_that_version_is_still_a_conflict(pg_stores: Stores) -> None:
    recorder = pg_stores.ledger.recorder
    first = a_subjects_first_event(pg_stores)
    mine = replace(first, originator_version=first.originator_version + 1)
    recorder.insert_events([mine])

    with pytest.raises(IntegrityError):
        recorder.insert_events([replace(mine, state=mine.state + b" ")])
    next_one = replace(mine, originator_version=mine.originator_version + 1)
    with pytest.raises(IntegrityError):  # stored as given, but not all of them: a conflict
        recorder.insert_events([mine, next_one])
    assert len(recorder.select_events(first.originator_id)) == 2


def test_a_claim_stored_although_its_commit_went_unanswered_is_withdrawn(
    stores: Stores, clock: MovableClock
) -> None:
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    claim = keys.claim

    def stored_but_unanswered(*args: Any) -> Any:
        claim(*args)
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    keys.claim = stored_but_unanswered  # type: ignore[method-assign]

    async def claim_and_wait() -> None:
        with pytest.raises(psycopg.OperationalError):
            await idempotency._claim(keys, "crm", "k-1", "body")
        await asyncio.gather(*idempotency._WITHDRAWING)

    outcome: dict[str, Any] = {}

    def in_a_loop_of_its_own() -> None:  # the browser tests keep one running in this thread
        try:
            asyncio.run(claim_and_wait())
            outcome["done"] = True
        except BaseException as error:  # pytest's own failures included
            outcome["error"] = error

    runner = threading.Thread(target=in_a_loop_of_its_own)
    runner.start()
    runner.join(30)
    assert outcome == {"done": True}, outcome
    keys.claim = claim  # type: ignore[method-assign]
    assert keys.claim("crm", "k-1", "body").state == MINE, "the retry runs at once"


def test_withdrawing_a_claim_leaves_another_requests_claim_on_that_key_alone(
    stores: Stores, clock: MovableClock
) -> None:
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    mine = clock.now()
    clock.move(microseconds=1)
    assert keys.claim("crm", "k-1", "body").state == MINE  # another request's, a moment later

    keys.withdraw("crm", "k-1", "body", mine)

    assert keys.claim("crm", "k-1", "body").state == BUSY
