"""What a client learns about this ledger as an OAuth protected resource (RFC 9728): which
providers issue its tokens, the audience they must name, the scopes; and the OpenAPI
document's security schemes, so generated clients know how to sign in."""

from __future__ import annotations

from typing import Any

from api.http.provider_keys import discovery_url
from api.settings import Settings

METADATA_PATH = "/.well-known/oauth-protected-resource"

def resource(settings: Settings) -> str:
    """The resource identifier: the audience the provider's tokens name, else the public URL."""
    return settings.oidc_audience or settings.public_url.rstrip("/")


def protected_resource_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + METADATA_PATH


def metadata(settings: Settings) -> dict[str, Any]:
    document: dict[str, Any] = {
        "resource": resource(settings),
        "bearer_methods_supported": ["header"],
        "resource_name": "Compliance Ledger",
        "resource_documentation": settings.public_url.rstrip("/") + "/docs",
    }
    if settings.uses_identity_provider:
        document["authorization_servers"] = list(settings.oidc_issuer)
        document["resource_signing_alg_values_supported"] = ["RS256", "ES256", "EdDSA"]
    if settings.oidc_scopes:
        document["scopes_supported"] = list(settings.oidc_scopes)
    return document


def document_identity(schema: dict[str, Any], settings: Settings) -> None:
    """With providers configured, the OpenAPI document declares each as an OpenID Connect
    security scheme, accepted wherever the bearer token is."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    added = []
    for number, issuer in enumerate(settings.oidc_issuer):
        name = "oidc" if number == 0 else f"oidc{number + 1}"
        schemes[name] = {
            "type": "openIdConnect", "openIdConnectUrl": discovery_url(issuer),
            "description": f"an access token issued by {issuer} for the audience "
            f"{settings.oidc_audience}",
        }
        added.append(name)
    if not added:
        return
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            security = operation.get("security") if isinstance(operation, dict) else None
            if security and any("HTTPBearer" in requirement for requirement in security):
                security.extend({name: []} for name in added)
