"""The HTTP API's routers, one module per resource of DESIGN.md §6; `api/app.py` lists them.

A route names the roles that may call it (`api/http/deps.py` aliases), builds a command for the
ledger or asks the read side, and shapes the answer with `api/schemas`; what spans aggregates
or stores, and who sees what of which tenant, is in `api/services`. Modules here may import
`domain/`, `projections/`, `api.http`, `api.schemas`, `api.services` and `api.settings`; never
`api.portal` or `api.cli`.
"""
