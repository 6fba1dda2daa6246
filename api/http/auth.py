"""Bearer tokens: who is calling, in which role, for which tenant.

With `LEDGER_OIDC_ISSUER` set, tokens come from OpenID Providers (api/http/provider_tokens.py).
Otherwise the ledger's own: HS256 with the configured (or generated) secret by default; RS256
with `LEDGER_AUTH_PUBLIC_KEY` (one static key). `exp`, `sub` and `role` are required, and
`tenant` for customers. Anything else is a 401: the algorithm list is fixed, so `alg: none`
and a token signed for the other algorithm never pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol
from uuid import UUID

import jwt

from domain.vocabulary import Role

from api.http.callers import BadToken, Caller, KeysNeeded, ProviderUnreachable, mail_address
from api.http.claims import ClaimMapping
from api import keyfiles
from api.settings import Settings

# The ledger's own tokens (`ledger token`) name the role in `role`, the tenant in `tenant`.
OWN_CLAIMS = ClaimMapping(role_claim="role", tenant_claim="tenant", actor_claim="sub")
# Verified tokens remembered per process: the few callers of a busy API (the vendor's systems)
# send the same token on every request. Full: forgotten all at once, then learnt again.
VERIFIED_CACHE_SIZE = 4096


class Verifier(Protocol):
    def verify(self, token: str, *, may_fetch: bool = False) -> Caller:
        """The caller, or BadToken; KeysNeeded when it would have to fetch keys and may not;
        ProviderUnreachable when it tried and could not."""


def verifier_from_settings(settings: Settings) -> Verifier:
    if settings.uses_identity_provider:
        from api.http.provider_tokens import ProviderTokenVerifier

        return ProviderTokenVerifier.from_settings(settings)
    return TokenVerifier.from_settings(settings)


@dataclass(frozen=True)
class TokenVerifier:
    key: str
    algorithm: str
    # token -> (caller, exp). A token that verified once verifies again until its `exp`:
    # key and algorithm are fixed for the verifier's life, and `nbf`/`iat` stay in the past.
    _verified: dict[str, tuple[Caller, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenVerifier":
        if settings.auth_public_key:
            return cls(settings.auth_public_key, "RS256")
        return cls(keyfiles.auth_secret(settings), "HS256")

    def verify(self, token: str, *, may_fetch: bool = False) -> Caller:
        """The caller the token names, or BadToken. Never fetches anything: the key is here."""
        known = self._verified.get(token)
        # PyJWT counts a token as expired from `exp` on (int(exp) <= now); so does this.
        if known is not None and time.time() < known[1]:
            return known[0]
        caller, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, expires)
        return caller

    def _decode(self, token: str) -> tuple[Caller, int]:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],
                options={"require": ["exp", "sub", "role"]},
            )
        except jwt.ExpiredSignatureError:
            raise BadToken("the token has expired") from None
        except jwt.MissingRequiredClaimError as error:
            raise BadToken(f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidAlgorithmError:
            raise BadToken(f"tokens must be signed with {self.algorithm}") from None
        except jwt.InvalidSignatureError:
            raise BadToken("the token's signature does not match") from None
        except jwt.PyJWTError as error:
            raise BadToken(f"the token is not valid: {error}") from None
        # PyJWT has checked `exp` (required) as `int(exp) <= now` means expired.
        return OWN_CLAIMS.caller(claims), int(claims["exp"])


def mint_token(
    settings: Settings, role: str, actor: str, tenant: str | UUID | None = None,
    ttl: int = 3600, email: str | None = None,
) -> str:
    """A token signed with the configured HS256 secret (what `ledger token` prints).

    With RS256 configured, the identity provider holds the private key and mints tokens;
    the ledger cannot.
    """
    if settings.uses_identity_provider:
        raise ValueError(
            "LEDGER_OIDC_ISSUER is set: tokens come from your identity provider "
            f"({', '.join(settings.oidc_issuer)}); the ledger mints none"
        )
    if settings.auth_public_key:
        raise ValueError(
            "LEDGER_AUTH_PUBLIC_KEY is set: tokens come from your identity provider (RS256)"
        )
    role = Role(role).value
    if not actor or not actor.strip():
        raise ValueError("actor must be a name")
    claims: dict[str, object] = {"sub": actor, "role": role, "exp": int(time.time()) + ttl}
    claims["iat"] = int(time.time())
    if role == Role.CUSTOMER.value:
        if tenant is None:
            raise ValueError("a customer's token needs --tenant (the tenant's id)")
        try:
            claims["tenant"] = str(UUID(str(tenant)))
        except ValueError:
            raise ValueError(f"the tenant must be a tenant's id (a UUID), not {tenant!r}") from None
    elif tenant is not None:
        raise ValueError("only a customer's token carries a tenant")
    if email is not None:
        if mail_address(email) is None:
            raise ValueError(f"{email!r} is not an e-mail address")
        claims["email"] = email
    return jwt.encode(claims, keyfiles.auth_secret(settings), algorithm="HS256")


__all__ = [
    "BadToken", "Caller", "KeysNeeded", "ProviderUnreachable", "Role", "TokenVerifier",
    "Verifier", "mint_token", "verifier_from_settings",
]
