"""The `ledger` command: the one list of its command groups, each in a module of its own."""

from __future__ import annotations

import typer

from api.cli import (
    audit, audit_bundle, backup, initialise, keys, projections, serve, sweep, tokens, witness, worker,
)

app = typer.Typer(
    help="The Compliance Ledger: an event-sourced, verifiable record of consent and access.",
    no_args_is_help=True,
    add_completion=False,
)

# In the order `ledger --help` lists them.
COMMAND_GROUPS = (
    initialise, serve, tokens, projections, worker, audit, audit_bundle, witness, sweep, keys, backup,
)


@app.callback()
def main() -> None:
    """Settings come from LEDGER_* environment variables or a .env file (see README)."""
    from pydantic import ValidationError

    from api.settings import get_settings

    try:
        get_settings()
    except ValidationError as error:
        # Refused before anything starts, each problem named by its variable.
        for problem in error.errors():
            where = "_".join(str(step) for step in problem["loc"]).upper()
            name = f"LEDGER_{where}" if where else "settings"
            message = str(problem["msg"]).removeprefix("Value error, ")
            typer.echo(f"Error: {name}: {message}", err=True)
        raise typer.Exit(2) from None


for group in COMMAND_GROUPS:
    group.register(app)


if __name__ == "__main__":
    app()
