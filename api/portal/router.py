"""The customer portal's routes under /portal: the one list of its areas of pages.

Each area is a module with a router of its own (api/portal/render.py `page_router`), so that
every page answers with the portal's security headers; every POST checks the session's CSRF
token. The order does not matter: no two areas have paths that could match the same request.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.portal import (
    access_log,
    access_requests,
    incidents,
    login,
    provider_login,
    render,
    webhooks,
)

AREAS = (login, provider_login, access_requests, access_log, incidents, webhooks, render)

router = APIRouter()
for area in AREAS:
    router.include_router(area.router, prefix="/portal")
