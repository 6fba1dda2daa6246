"""From an identity provider's claims to a caller: which claim holds the role, the tenant and
the name, and how the provider's values translate to the ledger's (docs/identity.md).

Every provider spells these its own way: Entra ID puts app roles in `roles` and the
organisation in `tid`, Keycloak puts realm roles in `realm_access.roles`, others use `groups`.
The settings say where to look; a token that maps to no role, to several, or to a customer
without a tenant names no caller and is refused with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from domain.vocabulary import Role

from api.http.callers import MAX_ACTOR_LENGTH, BadToken, Caller, mail_address
from api.settings import Settings


def claim_at(claims: Mapping[str, object], path: str) -> object:
    """The value at a dotted path (`realm_access.roles`); None when any step is missing.

    A claim whose own name holds a dot (a namespaced claim such as `https://x.example/roles`)
    is found too: the whole path is tried as one name first."""
    if path in claims:
        return claims[path]
    value: object = claims
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def _values(value: object) -> list[str]:
    if isinstance(value, str):
        return value.split()  # a space-separated string, as `scope` is
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


@dataclass(frozen=True)
class ClaimMapping:
    role_claim: str = "roles"
    role_map: Mapping[str, Role] = field(default_factory=dict)
    tenant_claim: str = "tenant"
    tenant_map: Mapping[str, UUID] = field(default_factory=dict)
    actor_claim: str = "sub"

    @classmethod
    def from_settings(cls, settings: Settings) -> "ClaimMapping":
        return cls(
            settings.oidc_role_claim, dict(settings.oidc_role_map), settings.oidc_tenant_claim,
            dict(settings.oidc_tenant_map), settings.oidc_actor_claim,
        )

    def caller(self, claims: Mapping[str, object]) -> Caller:
        role = self.role(claims)
        actor = self.actor(claims)
        email = mail_address(claims.get("email"))
        if role is not Role.CUSTOMER:
            return Caller(actor, role, email=email)
        return Caller(actor, role, self.tenant(claims), email=email)

    def role(self, claims: Mapping[str, object]) -> Role:
        found = _values(claim_at(claims, self.role_claim))
        roles = {self._role_of(value) for value in found} - {None}
        if not roles:
            shown = ", ".join(repr(v) for v in found[:5]) or "nothing"
            raise BadToken(
                f"the token's {self.role_claim!r} claim ({shown}) maps to no role of this ledger"
            )
        if len(roles) > 1:
            names = ", ".join(sorted(r.value for r in roles if r is not None))
            raise BadToken(
                f"the token's {self.role_claim!r} claim maps to several roles ({names}); a "
                "caller acts in one: give this account one of them for the ledger"
            )
        (role,) = roles
        assert role is not None
        return role

    def _role_of(self, value: str) -> Role | None:
        if self.role_map:
            return self.role_map.get(value)
        try:
            return Role(value)
        except ValueError:
            return None

    def tenant(self, claims: Mapping[str, object]) -> UUID:
        value = claim_at(claims, self.tenant_claim)
        if not isinstance(value, str | int) or not str(value).strip():
            raise BadToken(
                f"a customer's token must name their tenant in the {self.tenant_claim!r} claim"
            )
        if self.tenant_map:
            tenant = self.tenant_map.get(str(value))
            if tenant is None:
                raise BadToken(
                    f"the organisation {str(value)[:100]!r} in the token's "
                    f"{self.tenant_claim!r} claim is not mapped to a tenant of this ledger"
                )
            return tenant
        try:
            return UUID(str(value))
        except ValueError:
            raise BadToken(
                f"the token's {self.tenant_claim!r} claim must be a tenant id (UUID)"
            ) from None

    def actor(self, claims: Mapping[str, object]) -> str:
        actor = claim_at(claims, self.actor_claim)
        if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR_LENGTH:
            raise BadToken(
                f"the token's {self.actor_claim!r} claim must be a name of 1 to "
                f"{MAX_ACTOR_LENGTH} characters"
            )
        if "\x00" in actor:
            raise BadToken(f"the token's {self.actor_claim!r} claim contains a NUL character")
        return actor
