"""What the portal's pages ask FastAPI for, gathered in one place: the services (`ServicesDep`)
and a form field (`FormField`).

The portal calls the Ledger application directly (not the HTTP API) and reads through the
ReadSide protocol, like every router; it verifies tokens with the API's own verifier, so a
token that the API refuses cannot log in here either.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

import jwt
from fastapi import Depends, Form, Request

from domain.ledger import Ledger
from projections.read_models.queries.contract import ReadSide

from api.http.auth import BadToken, Caller, Role, TokenVerifier
from api.portal.session import session_id_of
from projections.storage.portal_sessions import PortalSession, SessionStore
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

    def session(self, request: Request) -> PortalSession | None:
        """The visitor's session; None without one, or once it has ended."""
        return self.sessions.find(session_id_of(request))


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
    return PortalServices(
        settings=state.settings, ledger=state.stores.ledger, reads=read,
        sessions=state.container.portal_sessions(),
        verify_token=_verifier(state.token_verifier),
    )


def _verifier(verifier: TokenVerifier) -> Callable[[str], Visitor]:
    def verify(token: str) -> Visitor:
        try:
            caller = verifier.verify(token)
        except BadToken as error:
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
