"""What the portal's pages ask FastAPI for, gathered in one place: the services (`ServicesDep`)
and a form field (`FormField`).

The portal calls the Ledger application directly (not the HTTP API) and reads through the
ReadSide protocol, like every router; it verifies tokens with the API's own verifier, so a
token that the API refuses cannot log in here either. When customers sign in at an OpenID
Provider (`settings.portal_issuer`), `provider` checks that their sessions still stand there
(api/portal/provider_sessions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

import jwt
from fastapi import Depends, Form, Request

from domain.ledger import Ledger
from projections.read_models.queries.contract import ReadSide

from api.http.auth import BadToken, Caller, ProviderUnreachable, Role, Verifier
from api.portal.provider_sessions import PortalClient, ProviderSessions
from api.portal.session import session_id_of
from projections.storage.portal_sessions import PortalSession, SessionStore
from projections.storage.portal_sign_ins import SignInStore
from api.http.problems import ProblemException
from api.settings import Settings


@dataclass(frozen=True)
class Visitor:
    """Who a verified bearer token names."""

    actor: str
    role: str
    tenant_id: UUID | None
    expires_at: float | None

    @property
    def is_customer(self) -> bool:
        """Only a tenant's customer administrators may log in to the portal."""
        return self.role == Role.CUSTOMER


class TokenRejected(Exception):
    """The token is malformed, forged or expired."""


@dataclass
class PortalServices:
    settings: Settings
    ledger: Ledger
    reads: ReadSide
    sessions: SessionStore
    verify_token: Callable[[str], Visitor]
    provider: ProviderSessions | None = None
    _found: dict[str, PortalSession | None] = field(default_factory=dict, repr=False)

    def session(self, request: Request) -> PortalSession | None:
        """The visitor's session; None without one, or once it has ended (at the provider
        too: checked once per request)."""
        session_id = session_id_of(request)
        if session_id is None:
            return None
        if session_id not in self._found:
            found = self.sessions.find(session_id)
            if found is not None and self.provider is not None:
                found = found if self.provider.check(session_id, found) else None
            self._found[session_id] = found
        return self._found[session_id]


def as_caller(session: PortalSession) -> Caller:
    """The session's customer as the HTTP API knows callers, so that the portal and the API
    apply the same visibility rules (api/services/visibility.py)."""
    return Caller(actor=session.actor, role=Role.CUSTOMER, tenant=session.tenant_id)


def portal_services(request: Request) -> PortalServices:
    """The app's ledger, read side, settings and token verifier (see api/http/deps.py),
    plus the portal's session store."""
    state = request.app.state
    read = state.read
    if read is None:
        raise ProblemException(
            503, "the read side is not running in this process", headers={"Retry-After": "1"}
        )
    settings, sessions = state.settings, state.container.portal_sessions()
    provider = None
    if settings.portal_issuer is not None:  # then the verifier is a ProviderTokenVerifier
        provider = ProviderSessions(
            PortalClient(settings, state.token_verifier), SignInStore(sessions.db)
        )
    return PortalServices(
        settings=settings, ledger=state.stores.ledger, reads=read, sessions=sessions,
        verify_token=_verifier(state.token_verifier), provider=provider,
    )


def _verifier(verifier: Verifier) -> Callable[[str], Visitor]:
    def verify(token: str) -> Visitor:
        try:
            caller = verifier.verify(token, may_fetch=True)  # pages run in worker threads
        except (BadToken, ProviderUnreachable) as error:
            raise TokenRejected(error.detail) from None
        # The signature has just been checked; this only reads when the token runs out.
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
        return Visitor(
            actor=caller.actor, role=caller.role.value, tenant_id=caller.tenant,
            expires_at=float(expires) if isinstance(expires, int | float) else None,
        )

    return verify


ServicesDep = Annotated[PortalServices, Depends(portal_services)]
FormField = Annotated[str | None, Form()]
