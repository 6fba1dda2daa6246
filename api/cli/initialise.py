"""`ledger init`: the store's tables and the generated keys, made before anything else starts."""

from __future__ import annotations

import typer


def init() -> None:
    """Create the store's tables and the generated keys in the data dir: the dir 0700, every
    file in it (and the SQLite store's) 0600."""
    from rich.console import Console

    from api.bootstrap import build, log_origin
    from api.private_files import make_private
    from api.settings import get_settings

    settings = get_settings()
    from api.bootstrap_reads import is_read_only

    if is_read_only(settings):
        Console(stderr=True).print(
            "[red]Error[/red]: `ledger init` makes the tables on the primary: give it "
            "LEDGER_DATABASE_URL and leave LEDGER_READ_ONLY off", highlight=False,
        )
        raise typer.Exit(2)
    container = build(settings, private=True)  # the read side, the sealer and the outbox
    try:
        origin = log_origin(container.stores, settings)
        container.make_every_table()
    finally:
        container.close()
    make_private(settings)  # and whatever closing left behind
    Console().print(
        f"[green]Ledger initialised[/green]: store {settings.database_url}, "
        f"keys in {settings.data_dir.resolve()}, log origin {origin}"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
