"""The `ledger` command: `main.py` is the one list of its command groups, each a module here
(initialise, serve, tokens, worker, projections, audit, sweep, keys, backup).

A command takes the stores, the read side and the sealer from `api/bootstrap.py` and calls the
domain, the read side or `api/services` in a few lines. Commands import what they use inside
themselves, so that `ledger --help` and `ledger token` start quickly. Modules here may import
anything in `api/`, `domain/` and `projections/`; nothing imports them but `main.py`.
"""
