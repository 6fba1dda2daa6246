"""The pure parts of the read side: cursors, stored times, sealed columns and the email hash."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.errors import InvalidInput
from domain.ledger.keys import InMemoryKeyStore
from domain.personal import ERASED
from projections.read_models.queries.paging import check_limit, decode_cursor, encode_cursor
from projections.read_models.sealed_columns import UNREADABLE, ColumnSealer, email_hash, email_lookup_key
from projections.read_models.tables import micros, moment


def test_a_cursor_gives_back_the_key_it_was_made_from() -> None:
    cursor = encode_cursor(1_767_604_800_000_000, 42)
    assert decode_cursor(cursor, int, int) == (1_767_604_800_000_000, 42)
    assert decode_cursor(None, int) is None


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor(1), encode_cursor("x", 2)])
def test_a_cursor_of_the_wrong_shape_is_refused_naming_after(bad: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(bad, int, int)
    assert refused.value.field == "after"


@pytest.mark.parametrize("limit", [0, -1, 1001, True])
def test_a_limit_outside_one_to_a_thousand_is_refused(limit: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_limit(limit)
    assert refused.value.field == "limit"


def test_stored_times_keep_microseconds_and_sort_like_the_moments() -> None:
    earlier = datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=timezone.utc)
    later = earlier.astimezone(timezone(timedelta(hours=2))) + timedelta(microseconds=1)
    assert moment(micros(earlier)) == earlier
    assert micros(earlier) < micros(later)
    assert moment(micros(datetime(1969, 12, 31, 23, 59, tzinfo=timezone.utc))).year == 1969
    with pytest.raises(ValueError):
        micros(datetime(2026, 1, 5))


def test_a_sealed_value_opens_only_in_its_own_row_and_column() -> None:
    keys = InMemoryKeyStore()
    owner = uuid4()
    keys.create(owner)
    sealer = ColumnSealer(keys)
    sealed = sealer.seal(owner, "subject_profiles", (str(owner),), "name", "Ann")
    assert sealed is not None and "Ann" not in sealed
    assert sealer.open(owner, "subject_profiles", (str(owner),), "name", sealed) == "Ann"
    assert sealer.open(owner, "subject_profiles", (str(owner),), "email", sealed) == UNREADABLE
    assert sealer.open(owner, "subject_profiles", ("other",), "name", sealed) == UNREADABLE


def test_after_shredding_a_sealed_value_opens_as_erased_and_nothing_new_is_sealed() -> None:
    keys = InMemoryKeyStore()
    owner = uuid4()
    keys.create(owner)
    sealer = ColumnSealer(keys)
    sealed = sealer.seal(owner, "t", ("1",), "c", "Ann")
    keys.shred(owner)
    assert sealer.open(owner, "t", ("1",), "c", sealed) == ERASED
    assert sealer.seal(owner, "t", ("1",), "c", "Ann") is None
    assert sealer.seal(uuid4(), "t", ("1",), "c", ERASED) is None


def test_the_email_hash_ignores_case_and_spaces_and_depends_on_the_master_key() -> None:
    key = email_lookup_key(b"k" * 32)
    assert email_hash(key, " Ann@Example.org") == email_hash(key, "ann@example.org")
    assert email_hash(key, "ann@example.org") != email_hash(key, "bea@example.org")
    assert email_hash(email_lookup_key(b"j" * 32), "ann@example.org") != email_hash(key, "ann@example.org")
    assert key != b"k" * 32
