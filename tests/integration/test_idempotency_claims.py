"""How long an `Idempotency-Key` claim holds, on every store.

A request claims its key before it runs and stores its answer when done. A claim whose
request never answered (its process died, or lost the database for good) must lapse after the
documented two minutes, so the client's retry is not refused for the key's whole day; before
then, it must hold, or two requests with one key would both run."""

from __future__ import annotations

from projections.storage.idempotency import BUSY, DONE, MINE, IdempotencyStore
from api.bootstrap import Stores
from domain.clock import MovableClock

def test_a_claim_without_an_answer_holds_for_two_minutes_then_is_free_again(
    stores: Stores, clock: MovableClock
) -> None:
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    assert keys.claim("crm", "k-1", "body").state == MINE

    assert keys.claim("crm", "k-1", "body").state == BUSY, "still running, as far as anyone knows"
    clock.move(minutes=1)
    assert keys.claim("crm", "k-1", "body").state == BUSY, "a minute is not long enough to give up"
    clock.move(seconds=59)
    assert keys.claim("crm", "k-1", "body").state == BUSY, "nor is a minute and 59 seconds"

    clock.move(seconds=1, microseconds=1)
    assert keys.claim("crm", "k-1", "body").state == MINE, "two minutes on, the retry may run"
    assert keys.claim("crm", "k-1", "body").state == BUSY, "and its claim holds in turn"


def test_an_answered_key_is_kept_past_the_lapse_of_claims(
    stores: Stores, clock: MovableClock
) -> None:
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    assert keys.claim("crm", "k-2", "body").state == MINE
    keys.finish("crm", "k-2", 201, '{"id": "x"}')

    clock.move(hours=23)
    replay = keys.claim("crm", "k-2", "body")
    assert (replay.state, replay.status, replay.response) == (DONE, 201, '{"id": "x"}')
