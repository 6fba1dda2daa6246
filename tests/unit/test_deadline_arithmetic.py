"""Legal deadlines counted as the GDPR counts them: calendar months, month ends, leap years."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.deadlines import add_calendar_months


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("received", "months", "due"),
    [
        (utc(2026, 1, 15, 10, 30), 1, utc(2026, 2, 15, 10, 30)),  # the same day next month
        (utc(2026, 1, 31, 9), 1, utc(2026, 2, 28, 9)),  # February is short
        (utc(2028, 1, 31, 9), 1, utc(2028, 2, 29, 9)),  # ... except in a leap year
        (utc(2028, 2, 29, 9), 12, utc(2029, 2, 28, 9)),  # a leap day a year on
        (utc(2026, 3, 31, 9), 1, utc(2026, 4, 30, 9)),  # a 30-day month
        (utc(2026, 4, 30, 9), 1, utc(2026, 5, 30, 9)),  # not "the last day" again
        (utc(2026, 12, 15, 9), 1, utc(2027, 1, 15, 9)),  # into the next year
        (utc(2026, 11, 30, 9), 3, utc(2027, 2, 28, 9)),  # one month plus a two-month extension
        (utc(2026, 1, 31, 23, 59, 59), 1, utc(2026, 2, 28, 23, 59, 59)),  # the time of day stays
    ],
)
def test_a_deadline_in_calendar_months_falls_on_the_same_day_or_that_months_last_day(
    received: datetime, months: int, due: datetime
) -> None:
    assert add_calendar_months(received, months) == due


def _ledger_at(moment: datetime) -> tuple[Ledger, MovableClock]:
    clock = MovableClock(moment)
    return Ledger(clock=clock), clock


def test_a_request_received_on_31_january_is_due_on_the_last_day_of_february() -> None:
    ledger, _ = _ledger_at(utc(2028, 1, 31, 14))
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    request = ledger.receive_data_request(subject.id, "access", "email", "officer").aggregate
    assert request.due_at == utc(2028, 2, 29, 14)


def test_extensions_count_from_receipt_not_from_the_last_due_date() -> None:
    ledger, clock = _ledger_at(utc(2026, 1, 31, 14))
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    request = ledger.receive_data_request(subject.id, "erasure", "email", "officer").aggregate
    clock.move(days=20)
    once = ledger.extend_data_request(request.id, 1, "many systems", "officer").aggregate
    assert once.due_at == utc(2026, 3, 31, 14)  # not 28 March, as from 28 February
    twice = ledger.extend_data_request(request.id, 1, "still more", "officer").aggregate
    assert twice.due_at == utc(2026, 4, 30, 14)


def test_an_accepted_quote_is_due_fourteen_days_later_across_a_month_end() -> None:
    ledger, clock = _ledger_at(utc(2026, 2, 20, 8))
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    request = ledger.receive_data_request(subject.id, "portability", "email", "officer").aggregate
    ledger.quote_data_request(request.id, 2500, "EUR", "officer")
    clock.move(days=1)
    accepted = ledger.accept_quote(request.id, "officer").aggregate
    assert accepted.due_at == utc(2026, 3, 7, 8)


def test_the_authority_is_due_seventy_two_hours_after_awareness_including_a_leap_day() -> None:
    ledger, _ = _ledger_at(utc(2028, 3, 1, 12))
    incident = ledger.report_incident(
        "Laptop lost", "Unencrypted laptop", "high", [], "officer",
        aware_at=utc(2028, 2, 27, 18),
    ).aggregate
    assert incident.authority_due_at == utc(2028, 3, 1, 18)
    assert incident.authority_due_at - incident.aware_at == timedelta(hours=72)
