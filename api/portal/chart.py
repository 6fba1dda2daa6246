"""Accesses per day for the last 30 days, drawn server-side as inline SVG.

No chart library and no script: a bar per day, allowed accesses and refusals stacked, a
tooltip (<title>) per bar, and an accessible summary for screen readers. The SVG scales with
its container (viewBox), so it reads on a phone and a desktop alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from markupsafe import Markup, escape

from domain.vocabulary import AccessLogOutcome

DAYS = 30
WIDTH, HEIGHT = 800, 190
LEFT, RIGHT, TOP, BOTTOM = 34, 6, 10, 26


@dataclass(frozen=True)
class DayCount:
    day: date
    allowed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.allowed + self.refused


def as_datetime(value: Any) -> datetime:
    """Read models may hand back datetimes or ISO 8601 text; both mean the same moment."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def per_day(entries: Iterable[dict[str, Any]], today: date, days: int = DAYS) -> list[DayCount]:
    """Counts the log's allowed accesses and refusals per UTC day, `days` days up to today."""
    first = today - timedelta(days=days - 1)
    counts = {first + timedelta(days=i): [0, 0] for i in range(days)}
    for entry in entries:
        day = as_datetime(entry["at"]).astimezone(timezone.utc).date()
        outcome = entry.get("outcome")
        if day in counts and outcome in (AccessLogOutcome.ALLOWED, AccessLogOutcome.REFUSED):
            counts[day][0 if outcome == AccessLogOutcome.ALLOWED else 1] += 1
    return [DayCount(day, allowed, refused) for day, (allowed, refused) in counts.items()]


def _scale_top(peak: int) -> int:
    """An even, round number at or above the busiest day, so the axis labels (0, half, top)
    are whole numbers; at least 4, so a quiet month does not look busy."""
    for step in (2, 4, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if peak <= step * 4:
            return max(step * ((peak + step - 1) // step), 4)
    return peak + peak % 2


def chart_svg(days: list[DayCount]) -> Markup:
    total_allowed = sum(d.allowed for d in days)
    total_refused = sum(d.refused for d in days)
    top = _scale_top(max((d.total for d in days), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1)
    summary = (
        f"Accesses per day, {days[0].day.isoformat()} to {days[-1].day.isoformat()}: "
        f"{total_allowed} allowed, {total_refused} refused"
        if days else "No days to show"
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{escape(summary)}</title>',
        # Axis and gridlines at 0, half and top.
        *(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{TOP + plot_h * (1 - f):.1f}" y2="{TOP + plot_h * (1 - f):.1f}" '
            f'stroke="#d0d4da" stroke-width="1"/>'
            f'<text class="axis" x="{LEFT - 4}" y="{TOP + plot_h * (1 - f) + 4:.1f}" '
            f'text-anchor="end" font-size="12" fill="#4a5563">{int(top * f)}</text>'
            for f in (0, 0.5, 1)
        ),
    ]
    for i, d in enumerate(days):
        x = LEFT + i * slot + (slot - bar_w) / 2
        allowed_h = plot_h * d.allowed / top
        refused_h = plot_h * d.refused / top
        label = f"{d.day.isoformat()}: {d.allowed} allowed, {d.refused} refused"
        parts.append(f'<g><title>{escape(label)}</title>')
        # An invisible full-height rectangle makes even an empty day hoverable.
        parts.append(
            f'<rect x="{x:.1f}" y="{TOP}" width="{bar_w:.1f}" height="{plot_h}" '
            f'fill="transparent"/>'
        )
        if d.allowed:
            parts.append(
                f'<rect class="bar-allowed" x="{x:.1f}" y="{TOP + plot_h - allowed_h:.1f}" '
                f'width="{bar_w:.1f}" height="{allowed_h:.1f}" fill="#2f6fb2"/>'
            )
        if d.refused:
            parts.append(
                f'<rect class="bar-refused" x="{x:.1f}" '
                f'y="{TOP + plot_h - allowed_h - refused_h:.1f}" width="{bar_w:.1f}" '
                f'height="{refused_h:.1f}" fill="#c0392b"/>'
            )
        parts.append("</g>")
    if days:
        for index, anchor in ((0, "start"), (len(days) - 1, "end")):
            x = LEFT + index * slot + (slot / 2 if anchor == "start" else slot / 2)
            parts.append(
                f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
                f'font-size="12" fill="#4a5563">{days[index].day.strftime("%d %b")}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
