"""The privacy center's routes under /privacy-center: signing in by e-mail link
(api/privacy_center/sign_in.py) and the person's own page (api/privacy_center/me.py). Pages,
not API: they stay out of the OpenAPI document, as the portal's do."""

from __future__ import annotations

from fastapi import APIRouter

from api.privacy_center import me, sign_in
from api.privacy_center.pages import PATH

router = APIRouter()
for area in (sign_in, me):
    router.include_router(area.router, prefix=PATH)
