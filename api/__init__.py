"""The top floor: HTTP and the command line turn requests into the domain's commands, and
answer from the read side.

Here: `bootstrap.py`, the one composition root (Settings → the ledger, the stores, the read
side, the sealer); `app.py` (`create_app`: middleware, routers, OpenAPI); `settings.py`,
`keyfiles.py`, `private_files.py` and `logging_setup.py` (configuration, the generated keys, file
modes, log scrubbing); and the folders `http/` (what every request meets), `routers/` and
`schemas/` (the HTTP API, one module per resource), `services/` (what spans aggregates and
stores), `portal/` (the customer portal) and `cli/` (the `ledger` command). Modules here may
import `domain/` and `projections/`; nothing in those imports `api/`.
"""
