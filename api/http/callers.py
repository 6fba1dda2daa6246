"""Who is calling, as every route sees it, and why a bearer token names nobody.

The roles are the business's (domain/vocabulary.py); how a token becomes a caller is
api/http/auth.py (the ledger's own tokens) and api/http/provider_tokens.py (an OpenID
Provider's).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.vocabulary import Role

MAX_ACTOR_LENGTH = 200


@dataclass(frozen=True)
class Caller:
    """The authenticated caller. `tenant` is set for customers only; `email` when the token
    names one (its `email` claim): where the ledger mails what this caller must hear."""

    actor: str
    role: Role
    tenant: UUID | None = None
    email: str | None = None

    @property
    def key(self) -> str:
        """One string per person, for tables keyed by caller (two IdPs' "alice" differ by role)."""
        return f"{self.role.value}:{self.tenant or ''}:{self.actor}"


class BadToken(Exception):
    """The token names no caller: forged, expired, for someone else, or unmappable (401)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class KeysNeeded(Exception):
    """Verifying this token needs the provider's keys fetched first: network I/O, which an
    async caller does in a worker thread and then asks again with `may_fetch=True`."""


class ProviderUnreachable(Exception):
    """The identity provider did not answer with its keys: nobody can be verified (503)."""

    def __init__(self, issuer: str, reason: str) -> None:
        super().__init__(f"the identity provider {issuer} cannot be reached: {reason}")
        self.detail = str(self)


def mail_address(value: object) -> str | None:
    """A token's `email` claim when it is one address, else None (a claim is not trusted to be
    well formed: no line breaks that would reach a mail header, no absurd lengths)."""
    if not isinstance(value, str) or len(value) > 254 or value.count("@") != 1:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in value) or value.startswith("@") or value.endswith("@"):
        return None
    return value
