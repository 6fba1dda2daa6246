"""The progress bar of a command that walks the whole log (`ledger verify`, `ledger audit
bundle`): events done of the log's head, and the time taken; drawn only on a terminal, and
gone once the command's own output follows."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def over_the_log(label: str, console: Console) -> Progress:
    return Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=True, disable=not console.is_terminal,
    )
