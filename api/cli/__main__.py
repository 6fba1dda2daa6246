"""`python -m api.cli`: the `ledger` command without its script."""

from api.cli.main import app

app()
