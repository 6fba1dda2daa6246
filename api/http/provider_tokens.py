"""Access tokens from OpenID Providers (`LEDGER_OIDC_ISSUER`): the ledger as a resource server.

A token is accepted only when all of these hold (docs/identity.md):
- its `iss` is one of the configured issuers, exactly, and its signature checks with a key
  that issuer publishes, under the one algorithm that key declares (RS256, ES256 or EdDSA);
- its `aud` names `LEDGER_OIDC_AUDIENCE`: a token the provider issued for another
  application (the payroll app, the portal's own client) is refused;
- it has `exp`, has not expired, and lives no longer than `LEDGER_MAX_TOKEN_TTL`;
- its claims map to one role, and a customer's to a tenant (api/http/claims.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from api.http.callers import BadToken, Caller
from api.http.claims import ClaimMapping
from api.http.provider_keys import ALGORITHMS, ProviderKeys
from api.settings import Settings

VERIFIED_CACHE_SIZE = 4096


@dataclass
class ProviderTokenVerifier:
    providers: Mapping[str, ProviderKeys]
    audience: str
    mapping: ClaimMapping
    max_ttl: int
    # token -> (caller, wall-clock end, monotonic end): a verified token is taken again without
    # its signature checked until it expires or its issuer's keys are due to be fetched again.
    _verified: dict[str, tuple[Caller, float, float]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ProviderTokenVerifier":
        assert settings.oidc_audience is not None  # Settings refuses issuers without one
        return cls(
            {
                issuer: ProviderKeys(
                    issuer, settings.oidc_keys_cache_seconds, settings.oidc_keys_refetch_seconds
                )
                for issuer in settings.oidc_issuer
            },
            settings.oidc_audience, ClaimMapping.from_settings(settings), settings.max_token_ttl,
        )

    def verify(self, token: str, *, may_fetch: bool = False) -> Caller:
        known = self._verified.get(token)
        if known is not None and time.time() < known[1] and time.monotonic() < known[2]:
            return known[0]
        claims, provider = self.claims(token, may_fetch=may_fetch)
        caller = self.mapping.caller(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, float(claims["exp"]), provider.fresh_until())
        return caller

    def provider(self, issuer: str) -> ProviderKeys:
        return self.providers[issuer]

    def claims(
        self, token: str, *, may_fetch: bool, audience: str | None = None,
    ) -> tuple[dict[str, Any], ProviderKeys]:
        """The token's verified claims and its issuer (BadToken, KeysNeeded, ProviderUnreachable)."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise BadToken("the token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise BadToken(f"tokens must be signed with one of {', '.join(ALGORITHMS)}")
        issuer = unverified.get("iss")
        provider = self.providers.get(issuer) if isinstance(issuer, str) else None
        if provider is None:
            shown = repr(issuer)[:120] if issuer is not None else "no issuer"
            raise BadToken(f"the token was issued by {shown}, which this ledger does not trust")
        kid = header.get("kid")
        key = provider.key(kid if isinstance(kid, str) else None, algorithm, may_fetch=may_fetch)
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=audience or self.audience,
                issuer=provider.issuer, options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise BadToken("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise BadToken(
                f"the token is for another audience; this ledger is {audience or self.audience!r}"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise BadToken(f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise BadToken("the token's signature does not match") from None
        except jwt.PyJWTError as error:
            raise BadToken(f"the token is not valid: {error}") from None
        self._check_lifetime(claims)
        return claims, provider

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        exp = claims["exp"]
        issued = claims.get("iat")
        start = issued if isinstance(issued, int | float) else time.time()
        if exp - start > self.max_ttl:
            raise BadToken(
                f"the token lives {int(exp - start)} s; this ledger takes tokens of at most "
                f"{self.max_ttl} s (LEDGER_MAX_TOKEN_TTL)"
            )
