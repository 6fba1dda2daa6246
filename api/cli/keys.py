"""`ledger keys`: the key-encryption keys (KEKs) that wrap every data key, one per epoch.

- `status` lists the epochs (opened, closed, destroyed, whether this machine holds the KEK) and
  the erasures that are not final yet, with the date they will be if epochs close on time.
- `close-epoch` closes the current epoch now: every live data key is re-wrapped under a new
  KEK, the KEKs of which LEDGER_KEY_EPOCHS_KEPT newer epochs exist are destroyed, and erasures
  whose last KEK is gone are recorded as final. The sweep of `ledger serve` / `ledger worker`
  does the same every LEDGER_KEY_EPOCH_HOURS; running processes need no restart.
- `migrate` moves a store made before epochs (data keys wrapped by LEDGER_MASTER_KEY or the data
  dir's master.key) to epochs; the first start does the same. No event changes.
- `rotate-master` is what replacing the master key was called before epochs: it closes an
  epoch, which gives every data key a new wrapping key.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

JSON = typer.Option(False, "--json", help="print JSON instead of tables")


def _progress(label: str) -> Any:
    """On stderr, so that `--json` output stays clean on stdout."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                    console=Console(stderr=True))


def _open(progress: Any = None) -> Any:
    from api.settings import get_settings
    from api.bootstrap import open_stores

    settings = get_settings()
    return open_stores(settings, epoch_progress=progress)


def status(as_json: bool = JSON) -> None:
    """The epochs and the erasures that are not final yet."""
    from rich.console import Console
    from rich.table import Table

    stores = _open()
    try:
        epochs, pending = stores.epochs.epochs(), stores.epochs.pending()
        held = set(stores.keys.keks.held())
        now = stores.ledger.now()
        legacy_in_env = stores.keys.keks.legacy_key is not None and stores.keys.keks.legacy_file is None
    finally:
        stores.close()
    rows = [
        {"epoch": e, "opened_at": o, "age_hours": round(_hours(now, o), 1), "closed_at": c,
         "destroyed_at": d, "kek_held_here": e in held}
        for e, o, c, d in epochs
    ]
    waiting = [
        {"owner_id": str(p.owner_id), "kind": _kind(p), "shredded_at": p.shredded_at,
         "first_epoch": p.first_epoch, "last_epoch": p.last_epoch,
         "final_by": p.final_by.isoformat()}
        for p in pending
    ]
    if as_json:
        typer.echo(json.dumps({"epochs": rows, "pending_erasures": waiting}, indent=2))
        return
    console = Console(highlight=False)
    table = Table("epoch", "opened", "age (h)", "closed", "KEK")
    for row in rows:
        kek = (f"destroyed {row['destroyed_at'][:19]}" if row["destroyed_at"]
               else "held" if row["kek_held_here"] else "[red]missing here[/red]")
        table.add_row(str(row["epoch"]), row["opened_at"][:19], str(row["age_hours"]),
                      (row["closed_at"] or "current")[:19], kek)
    console.print(table)
    if legacy_in_env and any(r["epoch"] == 0 and not r["destroyed_at"] for r in rows):
        console.print("Epoch 0 is LEDGER_MASTER_KEY: it cannot be destroyed from here. Remove "
                      "it from every process's environment once its time has come.")
    if not waiting:
        console.print("Every erasure is final: no copy of the store can read an erased person.")
        return
    console.print(f"{len(waiting)} erasures are not final yet (a copy of the store made before "
                  "them can still read them):")
    listing = Table("owner", "kind", "erased", "epochs", "final by")
    for item in waiting[:50]:
        listing.add_row(item["owner_id"], item["kind"], item["shredded_at"][:19],
                        f"{item['first_epoch']}–{item['last_epoch']}", item["final_by"][:19])
    console.print(listing)
    if len(waiting) > 50:
        console.print(f"… and {len(waiting) - 50} more (--json lists them all)")


def close_epoch(as_json: bool = JSON) -> None:
    """Close the current epoch now: new KEK, every data key re-wrapped, old KEKs destroyed."""
    from rich.console import Console

    from api.services.key_epochs import close_epoch as close

    from contextlib import nullcontext

    stores = _open()
    try:
        # No bar with --json: its output is for programs, which want only the JSON.
        with nullcontext() if as_json else _progress("re-wrapping data keys") as bar:
            task = None if bar is None else bar.add_task("rewrap", total=None)
            outcome = close(
                stores.ledger, stores.epochs,
                progress=None if bar is None else (
                    lambda done, total: bar.update(task, completed=done, total=total)
                ),
            )
    finally:
        stores.close()
    report = outcome.report
    assert report is not None  # waited for the lock, so it closed
    result = {"opened": report.opened, "rewrapped": report.rewrapped,
              "destroyed": report.destroyed, "not_destroyable": report.not_destroyable,
              "final_erasures": [str(f.owner_id) for f in outcome.final]}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console(highlight=False)
    console.print(f"[green]Epoch {report.opened} opened[/green]: {report.rewrapped} data keys "
                  "re-wrapped under its KEK; no event was changed.")
    if report.destroyed:
        console.print(f"Destroyed the KEKs of epochs {', '.join(map(str, report.destroyed))}.")
    if report.not_destroyable:
        console.print("[yellow]Epoch 0 is LEDGER_MASTER_KEY[/yellow]: remove it from the "
                      "environment of every ledger process; the erasures it covers become final "
                      "at the next close after that.")
    if outcome.final:
        console.print(f"{len(outcome.final)} erasures became final.")


def migrate() -> None:
    """Move a store made before key epochs to epochs (the first start does it too)."""
    from rich.console import Console

    with _progress("moving data keys to epoch 1") as bar:
        task = bar.add_task("migrate", total=None)
        stores = _open(lambda done, total: bar.update(task, completed=done, total=total))
    try:
        epochs = stores.epochs.epochs()
    finally:
        stores.close()
    console = Console(highlight=False)
    if epochs and epochs[0][0] == 0:
        console.print("[green]The store uses key epochs[/green]: its data keys are wrapped by "
                      "epoch 1's KEK. The master key is epoch 0: keep it until `ledger keys "
                      "status` shows it destroyed, because backups made before now need it.")
    else:
        console.print("[green]The store uses key epochs[/green]; it never had a master key.")


def rotate_master() -> None:
    """Before key epochs: a new master key. Now: closes an epoch (a new KEK for every key)."""
    typer.echo("The master key was replaced by key epochs: closing an epoch gives every data "
               "key a new key-encryption key (docs/erasure.md).")
    close_epoch(as_json=False)


def _hours(now: datetime, stamp: str) -> float:
    return (now - datetime.fromisoformat(stamp)).total_seconds() / 3600


def _kind(pending: Any) -> str:
    if pending.owner_id == pending.tenant_id:
        return "tenant"
    return "subject"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The key-encryption keys that wrap every data key.",
                        no_args_is_help=True)
    group.command("status")(status)
    group.command("close-epoch")(close_epoch)
    group.command("migrate")(migrate)
    group.command("rotate-master")(rotate_master)
    app.add_typer(group, name="keys")
