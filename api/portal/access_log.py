"""The portal's access log page and its CSV download: filters read from the page, pages, the
chart of the last 30 days.

The CSV is the HTTP API's own (api/services/access_log_csv.py), so both downloads match.
The filters come from a plain GET form, so they arrive as text; bad input becomes a
`FilterError` naming the field, which the page shows next to the form (422), never a 500.
Control characters (NUL above all: PostgreSQL refuses it in any text) never reach a query.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse

from domain.errors import InvalidInput
from projections.read_models.access_log import OUTCOMES
from projections.read_models.queries.contract import ReadSide

from api.portal.chart import DAYS, DayCount, chart_svg, per_day
from api.portal.render import page_router, render, see_other
from api.portal.services import ServicesDep
from api.services.access_log_csv import access_log_csv, access_log_rows

PAGE_SIZE = 50
# The HTTP API's cursor rules (api/http/paging.py): what the read side gave out, nothing else.
CURSOR = re.compile(r"[A-Za-z0-9_-]{1,500}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The chart reads at most this many entries; a tenant with more in 30 days sees a note.
CHART_LIMIT = 20_000

router = page_router()


class FilterError(ValueError):
    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class LogFilters:
    since: date | None = None
    until: date | None = None
    actor: str | None = None
    outcome: str | None = None

    @classmethod
    def parse(
        cls, since: str | None, until: str | None, actor: str | None, outcome: str | None
    ) -> "LogFilters":
        first, last = _day("since", since), _day("until", until)
        if first and last and first > last:
            raise FilterError("until", "the end date (until) is before the start date (since)")
        actor = (actor or "").strip() or None
        if actor is not None and len(actor) > 200:
            raise FilterError("actor", "actor is longer than 200 characters")
        if actor is not None and _CONTROL.search(actor):
            raise FilterError("actor", "actor contains a control character (such as NUL)")
        outcome = (outcome or "").strip() or None
        if outcome is not None and outcome not in OUTCOMES:
            raise FilterError("outcome", f"outcome must be one of: {', '.join(OUTCOMES)}")
        return cls(first, last, actor, outcome)

    def query(self, **extra: str | None) -> str:
        """The filters (and `extra`) as a query string, for links that keep them."""
        pairs = {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "actor": self.actor,
            "outcome": self.outcome,
            **extra,
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    def arguments(self) -> dict[str, Any]:
        """For ReadSide.access_log: whole days in UTC, the end date included."""
        return {
            "since": datetime.combine(self.since, time.min, timezone.utc) if self.since else None,
            "until": (
                datetime.combine(self.until, time.max, timezone.utc) if self.until else None
            ),
            "actor": self.actor,
            "outcome": self.outcome,
        }


def _day(field: str, value: str | None) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(field, f"{field} must be a date like 2026-01-31") from None


def page(
    reads: ReadSide, tenant_id: UUID, filters: LogFilters, after: str | None
) -> dict[str, Any]:
    """One page of entries; `after` is the link's cursor, which anyone can edit."""
    if after and not CURSOR.fullmatch(after):
        raise FilterError("after", _NOT_A_CURSOR)
    try:
        return reads.access_log(
            tenant_id, after=after or None, limit=PAGE_SIZE, **filters.arguments()
        )
    except (InvalidInput, ValueError, TypeError, KeyError, IndexError, OverflowError):
        # A well-formed cursor the read side cannot decode (api/http/paging.py does the same).
        if not after:
            raise
        raise FilterError("after", _NOT_A_CURSOR) from None


_NOT_A_CURSOR = "the page link (after) is not one this portal gave out; start from the newest"


def last_days(reads: ReadSide, tenant_id: UUID, today: date) -> tuple[list[DayCount], bool]:
    """Counts for the chart, and whether the cap cut the reading short."""
    first = today - timedelta(days=DAYS - 1)
    filters = LogFilters(since=first, until=today)
    rows = access_log_rows(reads, tenant_id, **filters.arguments())
    entries = list(islice(rows, CHART_LIMIT))
    return per_day(entries, today), len(entries) >= CHART_LIMIT


def csv_download(reads: ReadSide, tenant_id: UUID, filters: LogFilters) -> str:
    """The same CSV as the HTTP API's `?format=csv`, with the page's filters."""
    return access_log_csv(access_log_rows(reads, tenant_id, **filters.arguments()))


@dataclass(frozen=True)
class FilterText:
    """The filters as the page's GET form sends them: text, read by `LogFilters.parse`."""

    since: str | None
    until: str | None
    actor: str | None
    outcome: str | None

    def parse(self) -> LogFilters:
        return LogFilters.parse(self.since, self.until, self.actor, self.outcome)


def filter_text(
    since: str | None = None, until: str | None = None, actor: str | None = None,
    outcome: str | None = None,
) -> FilterText:
    return FilterText(since, until, actor, outcome)


FilterTextDep = Annotated[FilterText, Depends(filter_text)]


@router.get("/log", response_class=HTMLResponse)
def log_page(
    request: Request, services: ServicesDep, text: FilterTextDep, after: str | None = None
) -> Response:
    session = services.session(request)
    if session is None:
        return see_other("/portal/login")
    raw = {name: value or "" for name, value in asdict(text).items()}
    days, capped = last_days(
        services.reads, session.tenant_id, services.ledger.now().astimezone(timezone.utc).date()
    )
    context: dict[str, Any] = dict(
        session=session, active="log", raw=raw, outcomes=OUTCOMES, chart=chart_svg(days),
        chart_capped=capped, chart_total=sum(d.total for d in days),
    )
    try:
        filters = text.parse()
        entries = page(services.reads, session.tenant_id, filters, after)
    except FilterError as error:
        return render(
            request, "portal/log.html", 422, entries=None, error=error.detail,
            error_field=error.field, **context,
        )
    return render(
        request, "portal/log.html", entries=entries, error_field=None,
        next_url=f"/portal/log?{filters.query(after=entries['next'])}" if entries["next"] else None,
        first_url=f"/portal/log?{filters.query()}" if after else None,
        csv_url=f"/portal/log.csv?{filters.query()}", **context,
    )


@router.get("/log.csv")
def log_csv(request: Request, services: ServicesDep, text: FilterTextDep) -> Response:
    session = services.session(request)
    if session is None:
        return see_other("/portal/login")
    try:
        filters = text.parse()
    except FilterError as error:
        return render(
            request, "portal/refused.html", 422, session=session, error=error.detail
        )
    stamp = services.ledger.now().astimezone(timezone.utc).strftime("%Y%m%d")
    return Response(
        csv_download(services.reads, session.tenant_id, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="access-log-{stamp}.csv"'},
    )
