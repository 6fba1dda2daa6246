"""`ledger projections status | rebuild | check`: how far behind the read models are, rebuilding
them, and checking them against the events."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from api.bootstrap import Stores


def _open() -> tuple[Stores, list[Any]]:
    """The stores and their read models, without a runner: making a runner brings changed read
    models to their version at once, and these commands decide themselves what they change."""
    from api.bootstrap import open_stores, read_model_projections
    from api.settings import get_settings

    stores = open_stores(get_settings())
    return stores, read_model_projections(stores)


def _select(projections: list[Any], only: list[str] | None) -> list[Any]:
    if not only:
        return projections
    known = {p.name: p for p in projections}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise typer.BadParameter(
            f"unknown read model {', '.join(unknown)}; known: {', '.join(known)}",
            param_hint="--only",
        )
    return [known[name] for name in only]


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="The read models: how far behind they are, rebuild them, check them "
        "against the events.",
        no_args_is_help=True,
    )

    @group.command()
    def status() -> None:
        """Each read model's position and how many events it is behind; a stopped read model
        with the event it could not apply and the error; the sealer's position, or why it
        halted. Exit 1 while one is stopped or the sealer halted."""
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        from projections.read_models import failures
        from projections.read_models.tables import create_bookkeeping_tables

        stores, projections = _open()
        try:
            # Only reads: a status never changes a read model (no upgrade, no retry).
            create_bookkeeping_tables(stores.db)
            names = [p.name for p in projections]
            positions, _ = failures.tracking(stores.db, names)
            stopped = {f.name: f for f in failures.failures(stores.db, names)}
            head = int(stores.ledger.recorder.max_notification_id() or 0)
            table = Table(title=f"Read models (log head: {head})")
            table.add_column("read model")
            table.add_column("position", justify="right")
            table.add_column("behind", justify="right")
            for name, position in positions.items():
                behind = max(0, head - position)
                if name in stopped:
                    table.add_row(name, str(position), f"[red]{behind}, stopped")
                    continue
                colour = "yellow" if behind else "green"
                table.add_row(name, str(position), f"[{colour}]{behind}")
            console = Console()
            console.print(table)
            for failure in stopped.values():
                console.print(
                    f"[red]✗ {escape(failure.describe())}[/red] (since "
                    f"{failure.failed_at:%Y-%m-%d %H:%M:%S} UTC). The other read models go on; "
                    "it is retried when a runner starts (deploy the fix, restart) or by "
                    f"`ledger projections rebuild --only {failure.name}`.",
                    highlight=False,
                )
            halted = _sealer_line(stores, console, head)
            holder = _active_worker(stores)
            if holder is not None:
                console.print(holder)
        finally:
            stores.close()
        if stopped or halted:
            raise typer.Exit(1)

    @group.command()
    def rebuild(
        only: list[str] = typer.Option(
            None, "--only", help="rebuild just this read model (repeatable)"
        ),
    ) -> None:
        """Empty the read models and replay every event into them."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from projections.read_models import rebuild as rebuilding
        stores, projections = _open()
        try:
            chosen = _select(projections, only)
            head = int(stores.ledger.recorder.max_notification_id() or 0)
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(),
            ) as bar:
                task = bar.add_task("replaying events", total=max(head, 1))
                count = rebuilding.rebuild(
                    stores.ledger, stores.db, chosen,
                    progress=lambda _, position: bar.update(task, completed=position),
                )
                bar.update(task, completed=max(head, 1))
            Console().print(
                f"[green]Rebuilt[/green] {', '.join(p.name for p in chosen)} from {count} events"
            )
        finally:
            stores.close()

    @group.command()
    def check(
        only: list[str] = typer.Option(
            None, "--only", help="check just this read model (repeatable)"
        ),
    ) -> None:
        """Rebuild aside (a scratch schema or in-memory database) and report every row that
        differs from the live read models. Exit 1 when one does."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from projections.read_models import rebuild as rebuilding
        stores, projections = _open()
        console = Console()
        try:
            chosen = _select(projections, only)
            head = int(stores.ledger.recorder.max_notification_id() or 0)
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
            with Progress(*columns) as bar:
                task = bar.add_task("replaying aside", total=max(head, 1))
                report = rebuilding.check(
                    stores.ledger, stores.db, stores.keys, chosen,
                    progress=lambda name, position: bar.update(
                        task, description=f"replaying {name}", completed=position
                    ),
                )
                bar.update(task, description="replayed", completed=max(head, 1))
        finally:
            stores.close()
        if report.ok:
            console.print(
                f"[green]All {report.rows_compared} rows match the events[/green] "
                f"(up to position {min(report.positions.values(), default=0)})"
            )
            return
        for difference in report.differences:
            console.print(f"[red]✗[/red] {difference.describe()}", markup=True, highlight=False)
        console.print(f"[red]{len(report.differences)} rows differ from what the events say[/red]")
        raise typer.Exit(1)

    app.add_typer(group, name="projections")


def _sealer_line(stores: Stores, console: Any, head: int) -> bool:
    """Print how far the sealer has come, or why it halted; True when it halted."""
    from rich.markup import escape

    from projections.merkle_log.sealed_state import sealed_position
    from projections.merkle_log.sealer_halts import sealer_halt
    from projections.merkle_log.store import create_tables

    create_tables(stores.db)
    halt = sealer_halt(stores.db)
    if halt is not None:
        console.print(
            f"[red]✗ {escape(halt.describe())}[/red] (since {halt.halted_at:%Y-%m-%d %H:%M:%S} "
            "UTC). Nothing new is sealed or signed; mend the record (`ledger verify` names what "
            "disagrees) and restart the sealer.",
            highlight=False, soft_wrap=True,
        )
        return True
    position = sealed_position(stores.db)
    console.print(f"sealer: sealed up to event {position}, {max(0, head - position)} behind")
    return False


def _active_worker(stores: Stores) -> str | None:
    """On PostgreSQL: whether some process holds the projections' lock right now."""
    from projections.read_models.runner import group_lock_key
    from projections.storage.advisory_locks import holder

    if stores.db.dialect != "postgresql":
        return None
    pid = holder(stores.db, group_lock_key("read_models"))
    if pid is None:
        return "[yellow]no process is applying the projections right now[/yellow]"
    return f"projections applied by the process holding backend pid {pid}"
