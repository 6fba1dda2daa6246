"""The `ledger` command: the one list of its command groups, each in a module of its own."""

from __future__ import annotations

import typer

from api.cli import audit, backup, initialise, keys, projections, serve, sweep, tokens, worker

app = typer.Typer(
    help="The Compliance Ledger: an event-sourced, verifiable record of consent and access.",
    no_args_is_help=True,
    add_completion=False,
)

# In the order `ledger --help` lists them.
COMMAND_GROUPS = (initialise, serve, tokens, projections, worker, audit, sweep, keys, backup)


@app.callback()
def main() -> None:
    """Settings come from LEDGER_* environment variables or a .env file (see README)."""


for group in COMMAND_GROUPS:
    group.register(app)


if __name__ == "__main__":
    app()
