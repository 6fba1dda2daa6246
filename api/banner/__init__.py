"""The consent banner's server side, beyond translating HTTP (api/routers/banner.py): the
default texts in English and Dutch (`texts`), which pages may call it and the CORS answers
(`origins`), how often (`limits`), and what a choice records and answers (`choices`). The
script and its CSS are api/static/ (api/routers/banner_assets.py); the sites are registered
through api/routers/sites.py. May import `api.http`, `api.schemas`, `domain` and `projections`.
"""
