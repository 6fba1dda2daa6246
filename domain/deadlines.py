"""Every deadline, and when one has passed: the legal clocks, calendar months as the GDPR counts
them, and the two ways a moment is passed (the rule of "due", "overdue" and "expired").

Two kinds of moment, with different edges (DESIGN.md §7):
  * a deadline (a subject's request's due date, the authority's 72 hours, a tenant's 60 days
    of grace) is met at its very moment and missed once that moment is past: `is_past`;
  * a time limit (a pending access request's 12 hours, a grant's end) runs out at its very
    moment: `has_lapsed`.
Each is written as "the moment lies before a cut-off", and the cut-off is a pure function of
now, so SQL can ask the same question with `column < %s` and the cut-off as the parameter:
`deadline_col < overdue_before(now)`, `limit_col < lapsed_before(now)`. Moments are kept to
the microsecond (datetime, and the read side's integer microseconds), hence the one
microsecond that makes "at or before now" a strict "before".
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

PENDING_ACCESS_REQUEST_LIFETIME = timedelta(hours=12)
DEFAULT_GRANT = timedelta(hours=4)
MAXIMUM_GRANT = timedelta(hours=8)
TENANT_GRACE_PERIOD = timedelta(days=60)
AUTHORITY_NOTICE = timedelta(hours=72)
QUOTED_EXPORT_DELIVERY = timedelta(days=14)
MAXIMUM_EXTENSION_MONTHS = 2
ONE_TICK = timedelta(microseconds=1)  # the finest a moment is kept


def overdue_before(now: datetime) -> datetime:
    """Deadlines before this moment are missed (one due at `now` itself is still met)."""
    return now


def lapsed_before(now: datetime) -> datetime:
    """Time limits before this moment have run out (one ending at `now` itself has)."""
    return now + ONE_TICK


def is_past(deadline: datetime, now: datetime) -> bool:
    """The deadline was missed: `now` is later than it."""
    return deadline < overdue_before(now)


def has_lapsed(limit: datetime, now: datetime) -> bool:
    """The time limit has run out: `now` is at it or later."""
    return limit < lapsed_before(now)


def add_calendar_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later; when that month is shorter, its last day.

    Received on 31 January means due on 28 (or, in a leap year, 29) February.
    """
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
