"""Legal deadlines: calendar months as the GDPR counts them, and the fixed clocks."""

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


def add_calendar_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later; when that month is shorter, its last day.

    Received on 31 January means due on 28 (or, in a leap year, 29) February.
    """
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
