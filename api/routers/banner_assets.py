"""The consent banner's script and stylesheet, `/banner.js` and `/banner.css`: open to anyone, no
token, loaded by vendors' pages on other origins (docs/privacy-center.md).

The bytes are read once, at import: they are the same for every site (all that differs per site
comes from `GET /v1/banner/{site_key}/config`), so every visitor's browser may keep them a few
minutes and then ask again with the ETag, answered 304 while they are unchanged.

Every answer of the ledger refuses to be framed (api/app.py `_Guard`); that does not stop a
`<script>` or `<link>` on another site, and `Cross-Origin-Resource-Policy: cross-origin` says
so to a vendor page that is cross-origin isolated. `Access-Control-Allow-Origin: *` lets a vendor
pin the file with Subresource Integrity (`integrity=... crossorigin="anonymous"`): the bytes
are public anyway, and no cookie or token is ever read here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, Request, Response

from api.http.query_parameters import StrictQueryRoute

router = APIRouter(route_class=StrictQueryRoute)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Short enough that a changed banner reaches every visitor within minutes.
CACHE_CONTROL = "public, max-age=300"


class _Asset:
    def __init__(self, name: str, media_type: str) -> None:
        self.body = (STATIC_DIR / name).read_bytes()
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        self.headers = {
            "ETag": self.etag,
            "Cache-Control": CACHE_CONTROL,
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Access-Control-Allow-Origin": "*",
        }

    def answer(self, request: Request) -> Response:
        if self._unchanged_for(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=self.headers)
        return Response(self.body, media_type=self.media_type, headers=self.headers)

    def _unchanged_for(self, asked: str) -> bool:
        # RFC 9110 §13.1.2: a list of tags, compared weakly, or "*".
        tags = {tag.strip().removeprefix("W/") for tag in asked.split(",")}
        return "*" in tags or self.etag in tags


SCRIPT = _Asset("banner.js", "text/javascript; charset=utf-8")
STYLESHEET = _Asset("banner.css", "text/css; charset=utf-8")


@router.get("/banner.js", include_in_schema=False)
def banner_script(request: Request) -> Response:
    return SCRIPT.answer(request)


@router.get("/banner.css", include_in_schema=False)
def banner_stylesheet(request: Request) -> Response:
    return STYLESHEET.answer(request)
