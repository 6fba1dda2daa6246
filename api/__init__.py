"""Entry points: the HTTP API, the customer portal and the `ledger` command."""
