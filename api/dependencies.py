"""What routes ask FastAPI for: the ledger, the read side (caught up), the settings, the caller.

Role checks come before any lookup, so a 403 never tells whether something exists; a
customer asking about another tenant's anything gets 404 from the route itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import BadToken, Caller, Role, TokenVerifier
from api.problems import ProblemException
from api.settings import Settings
from domain.application import Ledger
from projections.queries import ReadSide

MAX_POSITION = 2**63 - 1
RETRY_AFTER_SECONDS = "1"

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <JWT>`; get one with `ledger token --role R --actor A`",
)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_ledger(request: Request) -> Ledger:
    return request.app.state.stores.ledger


def caller_from_request(request: Request, credentials: str | None) -> Caller:
    if credentials is None:
        raise ProblemException(
            401, "this needs a bearer token: Authorization: Bearer <JWT>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials)
    except BadToken as error:
        raise ProblemException(
            401, error.detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    return caller_from_request(request, credentials.credentials if credentials else None)


def allow(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    def gate(caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ProblemException(403, f"a {caller.role.value} may not do this (only: {names})")
        return caller

    return gate


def read_side(
    request: Request,
    min_position: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_POSITION,
            description="answer only once the read side has reached this position "
            "(the `position` a write answered): read-your-writes",
        ),
    ] = None,
) -> ReadSide:
    read: ReadSide | None = request.app.state.read
    if read is None:
        raise ProblemException(
            503, "the read side is not running in this process",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    if min_position is not None:
        settings: Settings = request.app.state.settings
        if not read.wait_for(min_position, settings.read_wait_seconds):
            raise ProblemException(
                503,
                f"the read side has not reached position {min_position} yet "
                f"(it is at {read.position()}); try again shortly",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
    return read


def current_ledger(
    request: Request,
    min_position: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_POSITION,
            description="accepted for symmetry with every GET; this answer comes from the "
            "ledger itself, which is always current",
        ),
    ] = None,
) -> Ledger:
    """For GETs answered from the events themselves: every position is already reached."""
    return get_ledger(request)


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
CurrentLedgerDep = Annotated[Ledger, Depends(current_ledger)]
ReadDep = Annotated[ReadSide, Depends(read_side)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Principal = Annotated[Caller, Depends(authenticate)]

Officer = Annotated[Caller, Depends(allow(Role.OFFICER))]
Auditor = Annotated[Caller, Depends(allow(Role.AUDITOR))]
Staff = Annotated[Caller, Depends(allow(Role.STAFF))]
Customer = Annotated[Caller, Depends(allow(Role.CUSTOMER))]
System = Annotated[Caller, Depends(allow(Role.SYSTEM))]
OfficerOrSystem = Annotated[Caller, Depends(allow(Role.OFFICER, Role.SYSTEM))]
OfficerOrAuditor = Annotated[Caller, Depends(allow(Role.OFFICER, Role.AUDITOR))]
TenantReader = Annotated[
    Caller, Depends(allow(Role.OFFICER, Role.AUDITOR, Role.CUSTOMER))
]
"""Those who read a tenant's things: officers, auditors, and that tenant's own customers."""


def not_found(what: str, ident: object) -> ProblemException:
    # Worded like the domain's own NotFound, so that "not yours" and "not there" read the same.
    return ProblemException(404, f"no {what} with id {ident}")


def ensure_own_tenant(caller: Caller, owner_tenant_id: object, what: str, ident: object) -> None:
    """A customer sees only its own tenant; anything else is 404 (never 403), so a customer
    cannot even learn whether another tenant's thing exists."""
    if caller.role is Role.CUSTOMER and str(owner_tenant_id) != str(caller.tenant):
        raise not_found(what, ident)
