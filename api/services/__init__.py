"""The application services: what spans aggregates and stores, called in a few lines by the
HTTP routers, the portal and the `ledger` command alike.

Who sees what of which tenant (`visibility`); a subject's export, its formats, its delivery
and the kept copies (`dossier`, `export_formats`, `delivery`, `delivered_files`); consent
receipts, unsubscribe links, the access-log CSV, the vendor's recorded reads, a tenant's
termination, key epochs and the sweep of what time has made due. Modules here may import
`domain/`, `projections/`, `api.settings` and, for callers and problem answers, `api.http`'s
`auth` and `problems`; never `api.routers`, `api.portal` or `api.cli`.
"""
