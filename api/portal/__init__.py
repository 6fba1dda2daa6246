"""The customer portal: server-rendered pages under /portal for a tenant's administrators.

One module per area of pages (`login`, `requests`, `access_log`, `incidents`), each with a
router of its own, and `router.py`, the one list of them; `render` (templates, security
headers), `services` (what the pages ask FastAPI for), `session` (server-side sessions),
`login_links`, `provider_login` and `provider_sessions` (signing in at the customer's OpenID
Provider, and the checks that keep such a session standing) and `chart`. The pages call the Ledger application and the read side as the
HTTP API does, and its rules of who sees what (`api/services/visibility.py`). Modules here may
import `domain/`, `projections/`, `api.http`, `api.services` and `api.settings`; the HTTP
routers never import them.
"""
