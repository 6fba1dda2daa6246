"""Bearer tokens: who is calling, in which role, for which tenant.

HS256 with the configured (or generated) secret by default; RS256 with
`LEDGER_AUTH_PUBLIC_KEY` when a real identity provider signs the tokens. `exp`, `sub` and
`role` are required, and `tenant` for customers. Anything else is a 401: the algorithm list
is fixed, so `alg: none` and a token signed for the other algorithm never pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

import jwt

from api import keyfiles
from api.settings import Settings

MAX_ACTOR_LENGTH = 200
# Verified tokens remembered per process: the few callers of a busy API (the vendor's systems)
# send the same token on every request. Full: forgotten all at once, then learnt again.
VERIFIED_CACHE_SIZE = 4096


class Role(StrEnum):
    STAFF = "staff"
    CUSTOMER = "customer"
    OFFICER = "officer"
    SYSTEM = "system"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. `tenant` is set for customers only."""

    actor: str
    role: Role
    tenant: UUID | None = None

    @property
    def key(self) -> str:
        """One string per person, for tables keyed by caller (two IdPs' "alice" differ by role)."""
        return f"{self.role.value}:{self.tenant or ''}:{self.actor}"


class BadToken(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


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

    def verify(self, token: str) -> Caller:
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
        return _caller(claims), int(claims["exp"])


def _caller(claims: dict[str, object]) -> Caller:
    actor = claims.get("sub")
    if not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR_LENGTH:
        raise BadToken(f"the token's 'sub' must be a name of 1 to {MAX_ACTOR_LENGTH} characters")
    if "\x00" in actor:
        raise BadToken("the token's 'sub' contains a NUL character")
    try:
        role = Role(str(claims.get("role")))
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise BadToken(f"the token's 'role' must be one of: {allowed}") from None
    if role is not Role.CUSTOMER:
        return Caller(actor, role)
    tenant = claims.get("tenant")
    if tenant is None:
        raise BadToken("a customer's token must carry a 'tenant' claim")
    try:
        return Caller(actor, role, UUID(str(tenant)))
    except ValueError:
        raise BadToken("the token's 'tenant' claim must be a tenant id (UUID)") from None


def mint_token(
    settings: Settings, role: str, actor: str, tenant: str | UUID | None = None,
    ttl: int = 3600,
) -> str:
    """A token signed with the configured HS256 secret (what `ledger token` prints).

    With RS256 configured, the identity provider holds the private key and mints tokens;
    the ledger cannot.
    """
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
    return jwt.encode(claims, keyfiles.auth_secret(settings), algorithm="HS256")
