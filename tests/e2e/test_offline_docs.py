"""/docs works without the internet: Swagger UI comes from a Python package, served by the
ledger itself, and the page names no other host."""

from __future__ import annotations

import re

from tests.e2e.conftest import Api

EXTERNAL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")


def test_the_docs_page_references_no_external_url(sqlite_api: Api) -> None:
    page = sqlite_api.anonymous().get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text
    assert EXTERNAL.findall(page.text) == []
    assert '"validatorUrl": null' in page.text  # the schema is never sent to swagger.io


def test_every_asset_the_docs_page_names_loads_from_the_ledger(sqlite_api: Api) -> None:
    client = sqlite_api.anonymous()
    page = client.get("/docs").text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    assert sorted(assets) == [
        "/docs/assets/favicon-32x32.png", "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    for path in assets:
        response = client.get(path)
        assert response.status_code == 200, path
        assert len(response.content) > 100, path
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_only_the_named_assets_are_served_and_redoc_is_off(sqlite_api: Api) -> None:
    client = sqlite_api.anonymous()
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/..%2F__init__.py").status_code == 404
    assert client.get("/redoc").status_code == 404
    assert client.get("/", follow_redirects=False).headers["location"] == "/docs"
