"""`/.well-known/oauth-protected-resource` (RFC 9728): how a client finds out who issues this
ledger's tokens. The document itself is api/http/protected_resource.py's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.http.protected_resource import METADATA_PATH, metadata

router = APIRouter(tags=["identity"])


@router.get(
    METADATA_PATH, summary="Protected resource metadata (RFC 9728)",
    description="Which identity providers issue this ledger's bearer tokens, the audience "
    "they must name and the scopes they carry. Without providers configured, tokens are the "
    "ledger's own (`ledger token`) and no authorization server is listed.",
)
async def protected_resource_metadata(request: Request) -> dict[str, Any]:
    return metadata(request.app.state.settings)
