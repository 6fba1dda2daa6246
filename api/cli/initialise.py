"""`ledger init`: the store's tables and the generated keys, made before anything else starts."""

from __future__ import annotations

import typer


def init() -> None:
    """Create the store's tables and the generated keys in the data dir: the dir 0700, every
    file in it (and the SQLite store's) 0600."""
    from rich.console import Console

    from api.bootstrap import open_private_stores
    from api.private_files import make_private
    from api.settings import get_settings

    settings = get_settings()
    open_private_stores(settings).close()
    make_private(settings)  # and whatever closing left behind
    Console().print(
        f"[green]Ledger initialised[/green]: store {settings.database_url}, "
        f"keys in {settings.data_dir.resolve()}"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
