"""`ledger audit bundle`: what a customer's auditor needs to check their tenant's history offline."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from uuid import UUID

import typer

audit_app = typer.Typer(help="Evidence for auditors.", no_args_is_help=True)

EXIT_FAILED, EXIT_USAGE = 1, 2


def _moment(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time; without a zone it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or time (2026-01-01, 2026-01-01T12:00:00Z)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _tenant(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a tenant id (a UUID)", param_hint="--tenant") from None


@audit_app.command("bundle")
def bundle(
    out: Path = typer.Argument(..., dir_okay=False, help="the zip to write, e.g. evidence.zip"),
    tenant: str = typer.Option(..., "--tenant", help="the tenant's id"),
    since: str | None = typer.Option(None, "--since", help="only events at or after this ISO date/time (UTC unless given)"),
    until: str | None = typer.Option(None, "--until", help="only events before this ISO date/time"),
) -> None:
    """Write a tenant's access-log events with inclusion proofs to the latest signed checkpoint,
    its note, the log's keys and verify_bundle.py into one zip, for the tenant's auditor."""
    from rich.console import Console
    from api.cli.progress_bars import over_the_log

    from api import keyfiles
    from api.bootstrap import open_stores
    from api.settings import get_settings
    from domain.errors import NotFound
    from projections.audit.bundle import NoCheckpoint, Period, atomic_file, write_bundle
    from projections.merkle_log.proofs import TreeDamaged

    tenant_id = _tenant(tenant)
    period = Period(_moment(since, "--since"), _moment(until, "--until"))
    if period.since and period.until and period.since >= period.until:
        raise typer.BadParameter("--since must be before --until", param_hint="--since")
    if not out.parent.is_dir():
        raise typer.BadParameter(f"the folder {out.parent} does not exist", param_hint="OUT")
    settings = get_settings()
    console = Console(soft_wrap=True)
    stores = open_stores(settings)
    try:
        try:
            stores.ledger.tenant(tenant_id)
        except NotFound:
            typer.echo(f"Error: no tenant with id {tenant_id} in this ledger", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        key = keyfiles.signing_key(settings).public_key()
        total = stores.ledger.recorder.max_notification_id() or 0
        with over_the_log("reading events", console) as progress:
            task = progress.add_task("bundle", total=total)
            with atomic_file(out) as file:
                manifest = write_bundle(
                    file, stores.ledger, stores.db, key, tenant_id, period,
                    datetime.now(timezone.utc),
                    lambda position: progress.update(task, completed=min(position, total)),
                )
    except NoCheckpoint as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except TreeDamaged as error:
        typer.echo(f"FAILED: the Merkle log cannot prove these events: {error}; run `ledger verify`", err=True)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        stores.close()
    counts = manifest["counts"]
    console.print(
        f"wrote {out}: {counts['events']} events of tenant {tenant_id}, proved to the checkpoint of "
        f"{manifest['tree_size']} leaves of {manifest['origin']}"
        + (f"; {counts['newer_than_checkpoint']} newer events are not signed yet and were left out"
           if counts["newer_than_checkpoint"] else ""),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
