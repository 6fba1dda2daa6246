"""The `ledger` command: serve, work, make tokens, initialise, verify, rebuild, sweep."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="The Compliance Ledger: an event-sourced, verifiable record of consent and access.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main() -> None:
    """Settings come from LEDGER_* environment variables or a .env file (see README)."""


@app.command()
def init() -> None:
    """Create the store's tables and the generated keys in the data dir: the dir 0700, every
    file in it (and the SQLite store's) 0600."""
    from rich.console import Console

    from api import keyfiles
    from api.private_files import make_private, private_folder
    from api.settings import get_settings
    from api.bootstrap import open_stores

    settings = get_settings()
    private_folder(settings.data_dir)
    keyfiles.ensure_all(settings)
    stores = open_stores(settings)
    try:
        make_private(settings)  # while SQLite's -wal and -shm files exist
    finally:
        stores.close()
    make_private(settings)  # and whatever closing left behind
    Console().print(
        f"[green]Ledger initialised[/green]: store {settings.database_url}, "
        f"keys in {settings.data_dir.resolve()}"
    )


def _register() -> None:
    # Each group of commands lives in its own module, named for what it does.
    from api.cli import audit, backup, keys, projections, serve, sweep

    for module in (serve, projections, audit, sweep, keys, backup):
        module.register(app)


_register()


if __name__ == "__main__":
    app()
