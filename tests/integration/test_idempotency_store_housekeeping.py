"""The `Idempotency-Key` table's housekeeping, on every store: keys older than a day are
swept out every SWEEP_EVERY claims (so the table holds about one day of keys, not every key
ever sent), a freed claim is free for the next request at once, and the moments that decide
all of this are UTC whatever the server's time zone. Found by `make mutate`: a sweep that never
ran, a release that failed, or stamps in local time passed every test."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


from projections.storage import idempotency
from projections.storage.idempotency import BUSY, DONE, MINE, Claim, IdempotencyStore
from api.bootstrap import Stores
from domain.clock import MovableClock


def _keys_in_the_table(stores: Stores) -> set[tuple[str, str]]:
    return {(actor, key) for actor, key in stores.db.fetchall(
        "SELECT actor, key FROM idempotency_keys"
    )}


def test_keys_older_than_a_day_are_swept_at_the_500th_claim_and_not_before(
    stores: Stores, clock: MovableClock
) -> None:
    assert idempotency.SWEEP_EVERY == 500, "the documented cadence"
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    keys.claim("someone-else", "yesterday", "body")  # claim 1
    clock.move(hours=24, seconds=1)

    for n in range(2, 500):  # claims 2 to 499: no sweep yet, the old key of another caller stays
        assert keys.claim("crm", f"k-{n}", "body").state == MINE
    assert ("someone-else", "yesterday") in _keys_in_the_table(stores)

    keys.claim("crm", "k-500", "body")  # the 500th claim sweeps, whoever's keys expired
    kept = _keys_in_the_table(stores)
    assert ("someone-else", "yesterday") not in kept
    assert len(kept) == 499, "only the expired key went; the day's keys are all kept"


def test_a_released_claim_is_free_at_once_and_only_that_callers_unanswered_claim_is_freed(
    stores: Stores, clock: MovableClock
) -> None:
    keys = IdempotencyStore(stores.db, clock, bytes(32))
    assert keys.claim("crm", "k-1", "body") == Claim(MINE, "body"), "the request runs"
    assert keys.claim("olga", "k-1", "body").state == MINE
    assert keys.claim("crm", "k-2", "body").state == MINE
    keys.finish("crm", "k-2", 201, '{"id": "x"}')

    keys.release("crm", "k-1")  # the first try failed with a server error
    keys.release("crm", "k-2")  # answered already: its answer stays

    assert keys.claim("crm", "k-1", "body").state == MINE, "the retry runs, not two minutes later"
    assert keys.claim("olga", "k-1", "body").state == BUSY, "another caller's claim is untouched"
    answered = keys.claim("crm", "k-2", "body")
    assert (answered.state, answered.status) == (DONE, 201)


@contextmanager
def _time_zone(zone: str) -> Iterator[None]:
    """The process's local time zone (what `datetime.astimezone()` without an argument uses)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_a_claim_holds_and_an_answer_is_kept_across_servers_in_different_time_zones(
    stores: Stores, clock: MovableClock
) -> None:
    """Two servers on one database, one in Honolulu (UTC-10), one in Tokyo (UTC+9)."""
    honolulu = IdempotencyStore(stores.db, clock, bytes(32))
    tokyo = IdempotencyStore(stores.db, clock, bytes(32))
    with _time_zone("HST10"):
        assert honolulu.claim("crm", "running", "body").state == MINE
        assert honolulu.claim("crm", "answered", "body").state == MINE
        honolulu.finish("crm", "answered", 201, '{"id": "x"}')

    clock.move(minutes=1)
    with _time_zone("JST-9"):
        assert tokyo.claim("crm", "running", "body").state == BUSY, "a minute is not two"
        clock.move(hours=20)
        kept = tokyo.claim("crm", "answered", "body")
        assert (kept.state, kept.status) == (DONE, 201), "20 hours is not a day"

    stamps = stores.db.fetchall("SELECT created_at FROM idempotency_keys WHERE key = %s",
                                ("answered",))
    assert stamps == [("2026-01-05T09:00:00.000000Z",)], "stored in UTC, as its Z says"


# --- a key freed between the claim's INSERT and its SELECT (PostgreSQL only) ----------------


class _FreedInBetween:
    """The store's database, where another server frees the key at the worst moment: just
    after our INSERT found the key taken, before we read who holds it. Only PostgreSQL can
    interleave so (SQLite runs the claim's transaction under its write lock); the database is
    real, only the moment is chosen."""

    def __init__(self, db: Any, free: Any) -> None:
        self._db, self._free = db, free

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._db.transaction() as cursor:
            yield _Cursor(cursor, self._free)


class _Cursor:
    def __init__(self, cursor: Any, free: Any) -> None:
        self._cursor, self._free = cursor, free

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def execute(self, sql: str, params: Any = ()) -> Any:
        result = self._cursor.execute(sql, params)
        if sql.lstrip().upper().startswith("INSERT") and self._cursor.rowcount == 0:
            self._free()
        return result


def test_a_key_freed_while_it_is_claimed_reads_as_busy_so_the_request_tries_again(
    pg_stores: Stores, clock: MovableClock
) -> None:
    first = IdempotencyStore(pg_stores.db, clock, bytes(32))
    assert first.claim("crm", "k-1", "fingerprint").state == MINE
    second = IdempotencyStore(pg_stores.db, clock, bytes(32))
    second.db = _FreedInBetween(pg_stores.db, lambda: first.release("crm", "k-1"))  # type: ignore[assignment]

    found = second.claim("crm", "k-1", "fingerprint")

    # Not "used with another body" (a 422 to the client) and not a crash: busy, so try again.
    assert (found.state, found.body_sha256) == (BUSY, "fingerprint")
    assert first.claim("crm", "k-1", "fingerprint").state == MINE, "and the key is free"


def test_the_fingerprint_key_is_derived_the_same_way_in_every_version() -> None:
    """HKDF-SHA256 of the store's derivation root, no salt, info ".../idempotency/v1": were it
    derived otherwise after an upgrade, a retry sent across the upgrade would find its key
    "used with another body" (a 422) instead of its first answer."""
    root = bytes(range(32))
    extracted = hmac.new(bytes(32), root, hashlib.sha256).digest()
    expected = hmac.new(
        extracted, b"compliance-ledger/idempotency/v1\x01", hashlib.sha256
    ).digest()
    assert idempotency.fingerprint_key(root) == expected
