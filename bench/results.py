"""Figures and the one table: each row is the median of the runs with their min and max, and
says whether its goal is met. Ratios are computed inside each run, then summarised."""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Goal:
    """`value >= bound` ("at_least") or `value <= bound` ("at_most")."""

    kind: str
    bound: float

    def met(self, value: float) -> bool:
        return value >= self.bound if self.kind == "at_least" else value <= self.bound

    def describe(self, unit: str) -> str:
        sign = "≥" if self.kind == "at_least" else "≤"
        return f"{sign} {_number(self.bound)}{(' ' + unit) if unit else ''}"


def at_least(bound: float) -> Goal:
    return Goal("at_least", bound)


def at_most(bound: float) -> Goal:
    return Goal("at_most", bound)


@dataclass
class Row:
    figure: str
    store: str
    unit: str
    values: list[float] = field(default_factory=list)
    goal: Goal | None = None
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def status(self) -> str:
        if self.goal is None or self.median is None:
            return "info"
        return "met" if self.goal.met(self.median) else "NOT met"


class Results:
    """The rows, in the order the figures were first reported."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self._by_key: dict[tuple[str, str], Row] = {}

    def add(
        self, figure: str, store: str, value: float, unit: str = "",
        goal: Goal | None = None, note: str = "",
    ) -> None:
        key = (figure, store)
        row = self._by_key.get(key)
        if row is None:
            row = self._by_key[key] = Row(figure, store, unit, goal=goal, note=note)
            self.rows.append(row)
        row.values.append(float(value))
        if note:
            row.note = note

    def failed(self, figure: str, store: str, error: str) -> None:
        key = (figure, store)
        if key not in self._by_key:
            row = self._by_key[key] = Row(figure, store, "", note=f"failed: {error}")
            self.rows.append(row)

    def table(self, title: str) -> Table:
        table = Table(title=title, show_lines=False)
        for name, justify in (
            ("figure", "left"), ("store", "left"), ("median", "right"), ("min", "right"),
            ("max", "right"), ("runs", "right"), ("goal", "left"), ("", "left"), ("note", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in self.rows:
            colour = {"met": "green", "NOT met": "red"}.get(row.status, "dim")
            table.add_row(
                row.figure, row.store, *_spread(row), str(len(row.values)),
                row.goal.describe(row.unit) if row.goal else "",
                f"[{colour}]{row.status}", row.note,
            )
        return table

    def markdown(self) -> str:
        lines = [
            "| figure | store | median | min | max | runs | goal | status | note |",
            "|---|---|--:|--:|--:|--:|---|---|---|",
        ]
        for row in self.rows:
            goal = row.goal.describe(row.unit) if row.goal else ""
            status = {"met": "**met**", "NOT met": "**not met**"}.get(row.status, "info")
            cells = [row.figure, row.store, *_spread(row), str(len(row.values)), goal, status,
                     row.note]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def as_json(self) -> str:
        return json.dumps(
            [{**asdict(row), "median": row.median, "status": row.status} for row in self.rows],
            indent=2,
        )

    def print(self, console: Console, title: str) -> None:
        console.print(self.table(title))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _spread(row: Row) -> list[str]:
    if not row.values:
        return ["-", "-", "-"]
    unit = f" {row.unit}" if row.unit and row.unit not in ("×",) else row.unit
    return [
        _number(row.median) + unit, _number(min(row.values)) + unit,
        _number(max(row.values)) + unit,
    ]


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(samples: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share 0.99 = p99) of the samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def guarded(results: Results, figure: str, store: str, work: Callable[[], Any]) -> Any:
    """Runs one figure; a failure becomes a row saying so instead of ending the whole suite."""
    try:
        return work()
    except Exception as error:  # the table must still come out
        results.failed(figure, store, f"{type(error).__name__}: {error}"[:200])
        return None
