"""What the OpenAPI document cannot learn from the routes' signatures: the answers of the
HTTP edges that every route shares (a route class, app-wide dependencies)."""

from __future__ import annotations

from typing import Any

from api.http.idempotency import WRITE_METHODS
from api.http.problems import documented

IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "the same key and body within 24 hours gives the first answer again and "
    "records nothing new; the same key with another body is a 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
# Any route: an unknown query parameter (api/http/query_parameters.py).
EVERY_ROUTE = documented(422)
# A GET with `min_position`: beyond the last event (422), too many waits (429), too slow (503).
READ_YOUR_WRITES = documented(422, 429, 503)


def document_edges(schema: dict[str, Any]) -> None:
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            # The header is read by the route class, not by a parameter: FastAPI cannot see it.
            if method.upper() in WRITE_METHODS and path.startswith("/v1/"):
                operation.setdefault("parameters", []).append(dict(IDEMPOTENCY_HEADER))
            names = {p.get("name") for p in operation.get("parameters", [])}
            extra = READ_YOUR_WRITES if "min_position" in names else EVERY_ROUTE
            for status, answer in extra.items():
                operation["responses"].setdefault(str(status), answer)
