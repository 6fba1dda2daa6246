"""The HTTP edges: what every request meets before, or besides, the routes' own rules.

Bearer tokens (`auth`), what routes ask FastAPI for as `Annotated` aliases (`deps`), RFC 9457
problems (`problems`), idempotency keys, body and header limits, paging, strict query
parameters, read-your-writes waits and the offline documentation pages. Modules here may import
`domain/`, `projections/`, `api.settings` and `api.keyfiles`; never `api.routers`,
`api.services`, `api.portal` or `api.cli`, which build on them.
"""
