"""What `ledger verify` finds: the kinds of problem, each problem where the log first goes wrong,
and the report that keeps the first ones and counts them all."""

from __future__ import annotations

from dataclasses import dataclass, field

CHANGED, MISSING, REORDERED, EXTRA, BAD_SIGNATURE = (
    "changed", "missing", "reordered", "extra", "bad signature"
)
# What only the stored tree, the sealer's record and a kept checkpoint can show.
GARBLED, TRUNCATED, OVERDUE = "garbled", "truncated", "overdue"
KEPT_PROBLEMS = 100  # a report keeps the first ones and counts the rest


@dataclass(frozen=True)
class Problem:
    kind: str
    position: int  # leaf index where the log first goes wrong
    notification_id: int | None = None
    detail: str = ""
    checkpoint: int | None = None  # tree size, for problems with a checkpoint
    where: str | None = None  # a place that is no position (a node, merkle_state, a kept note)

    def describe(self) -> str:
        if self.where is not None:
            where = self.where
        elif self.checkpoint is not None:
            where = f"checkpoint of tree size {self.checkpoint}"
        elif self.notification_id is not None:
            where = f"position {self.position} (event id {self.notification_id})"
        else:
            where = f"position {self.position}"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    events: int = 0
    sealed: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.position) if self.problems else None

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)
