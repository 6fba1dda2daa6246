"""Calendar months as the GDPR counts them: the same day next month, or that month's last day."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from domain.deadlines import add_calendar_months


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "received,due",
    [
        (at(2027, 1, 31), at(2027, 2, 28)),
        (at(2028, 1, 31), at(2028, 2, 29)),  # leap year
        (at(2027, 3, 30), at(2027, 4, 30)),
        (at(2027, 3, 31), at(2027, 4, 30)),
        (at(2027, 12, 31), at(2028, 1, 31)),
        (at(2027, 2, 28), at(2027, 3, 28)),
        (at(2027, 6, 15), at(2027, 7, 15)),
    ],
)
def test_a_request_is_due_one_calendar_month_after_receipt(received: datetime, due: datetime) -> None:
    assert add_calendar_months(received, 1) == due


def test_the_time_of_day_and_the_time_zone_are_kept() -> None:
    received = datetime(2027, 1, 31, 23, 59, tzinfo=timezone.utc)
    assert add_calendar_months(received, 1) == datetime(2027, 2, 28, 23, 59, tzinfo=timezone.utc)


def test_three_months_counts_from_receipt_not_from_the_clamped_month() -> None:
    # 31 January + 3 months is 30 April, not 28 April (which chaining via February would give).
    assert add_calendar_months(at(2027, 1, 31), 3) == at(2027, 4, 30)
    assert add_calendar_months(at(2027, 11, 30), 3) == at(2028, 2, 29)
