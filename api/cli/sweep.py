"""`ledger sweep`: apply, once, what time has made due, and say what was done."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def sweep() -> None:
        """Expire pending access requests and ended grants, purge tenants past their 60 days,
        mark overdue subjects' requests and incidents, delete kept exports past their time.
        Running it again changes nothing more. (`ledger serve`, and `ledger worker --sweep`,
        do the same every LEDGER_SWEEP_INTERVAL_SECONDS.)"""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.table import Table

        from api.bootstrap import build
        from api.services.sweep import sweep as sweep_once
        from api.settings import get_settings

        container = build(get_settings(), sealer=False)
        read_side, console = container.read_side, Console()
        try:
            runner = read_side.runner
            # The read models say what is due: bring them up to the log's head first, so
            # nothing recorded a moment ago is missed. (The ledger re-checks every item.)
            head = runner.head()
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                console=console, transient=True,
            ) as bar:
                task = bar.add_task("catching the read models up", total=max(head, 1))
                bar.update(task, completed=min(runner.position(), head))
                runner.catch_up(until=head, progress=lambda at: bar.update(task, completed=at))
                bar.update(task, completed=max(head, 1))
            report = sweep_once(
                container.stores.ledger, read_side.read_models,
                delivered_files=container.delivered_files,
            )
            runner.catch_up()  # so the next reader sees what the sweep recorded
        finally:
            container.close()

        table = Table(title=f"Sweep at {report.now.isoformat()}")
        table.add_column("what")
        table.add_column("done", justify="right")
        table.add_column("ids")
        rows = (
            ("access requests expired", report.expired_requests),
            ("grants ended", report.ended_grants),
            ("tenants purged", report.purged_tenants),
            ("subjects' requests marked overdue", report.overdue_requests),
            ("incidents marked overdue", report.overdue_incidents),
        )
        for label, ids in rows:
            table.add_row(label, str(len(ids)), "\n".join(str(i) for i in ids))
        table.add_row("kept exports deleted", str(report.forgotten_deliveries), "")
        console.print(table)
        for kind, item, detail in report.failures:
            console.print(f"[yellow]! {kind} {item}: {detail} (tried again next run)[/yellow]")
        if report.changes:
            console.print(f"[green]{report.summary()}[/green] (last event at {report.position})")
        else:
            console.print("[green]Nothing was due.[/green]")
