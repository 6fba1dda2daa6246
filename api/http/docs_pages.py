"""The API documentation at /docs, whole without the internet.

FastAPI's default page loads Swagger UI from a CDN, so /docs is blank on a machine without
internet access (or behind a proxy that blocks the CDN) and tells the CDN who reads the
docs. Here the assets come from the `swagger-ui-bundle-v2` package (Swagger UI 5: FastAPI's
OpenAPI 3.1 needs at least 5) and are served by the app itself; the validator badge, which
would send the API's schema to swagger.io, is off. ReDoc has no such package, so /redoc is
off: the OpenAPI document at /openapi.json serves any other viewer.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The files change only with the pinned package, so browsers may keep them a day.
ASSET_CACHE = "public, max-age=86400"


def install(app: FastAPI) -> None:
    """Adds /docs and its assets; create the app with `docs_url=None, redoc_url=None`."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title}: API documentation"

    async def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def asset(request: Request) -> FileResponse:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise HTTPException(404, f"there is no documentation asset {name!r}")
        return FileResponse(
            swagger_ui_path / name, media_type=ASSETS[name],
            headers={"Cache-Control": ASSET_CACHE},
        )

    app.add_route(DOCS_PATH, docs, include_in_schema=False)
    app.add_route(f"{ASSETS_PATH}/{{name}}", asset, include_in_schema=False)
