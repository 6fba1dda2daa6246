"""`ledger init`: the store's tables and the generated keys, made before anything else starts."""

from __future__ import annotations

import typer


def init() -> None:
    """Create the store's tables and the generated keys in the data dir: the dir 0700, every
    file in it (and the SQLite store's) 0600."""
    from rich.console import Console

    from api.bootstrap import log_origin, open_private_stores
    from api.private_files import make_private
    from api.settings import get_settings

    settings = get_settings()
    stores = open_private_stores(settings)
    try:
        origin = log_origin(stores, settings)
    finally:
        stores.close()
    make_private(settings)  # and whatever closing left behind
    Console().print(
        f"[green]Ledger initialised[/green]: store {settings.database_url}, "
        f"keys in {settings.data_dir.resolve()}, log origin {origin}"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
