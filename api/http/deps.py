"""What routes ask FastAPI for: the ledger, the read side (caught up), the settings, the caller.

Each dependency has an `Annotated` alias (`LedgerDep`, `ReadDep`, `Officer`, ...), which the
routes name as the type of a parameter. Role checks come before any lookup, so a 403 never
tells whether something exists; what a caller of an allowed role sees of which tenant is
api/services/visibility.py's.

The dependencies are `async def` because none of them waits on anything (attribute lookups,
and a JWT check that is CPU only and cached): FastAPI runs a plain `def` dependency in a
worker thread, and those hand-offs (four or five per request) cost more event-loop time than
the whole route. Waiting for the read side (`min_position`) holds no thread either: it
sleeps on the event loop between short checks (api/http/read_waits.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.http.auth import BadToken, Caller, KeysNeeded, ProviderUnreachable, Role, Verifier
from api.http.protected_resource import protected_resource_url
from api.http.read_waits import beyond_the_last_event, reach
from api.http.problems import ProblemException
from api.settings import Settings
from api.container import Container
from domain.ledger import Ledger
from projections.read_models.queries.contract import ReadSide
from projections.read_models.read_sources import ReadSources

MAX_POSITION = 2**63 - 1
RETRY_AFTER_SECONDS = "1"
# Far above any real token (an IdP's with many claims is 1 to 2 KiB): a longer header is
# refused before anything decodes or hashes it.
MAX_AUTHORIZATION_BYTES = 8 * 1024

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <JWT>`: with the ledger's own tokens, get one with "
    "`ledger token --role R --actor A`; with an identity provider, from it (docs/identity.md)",
)


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_ledger(request: Request) -> Ledger:
    return request.app.state.stores.ledger


async def get_container(request: Request) -> Container:
    """The process's container (api/bootstrap.py), for the stores beside the ledger: webhook
    subscriptions, deliveries, contacts, registered systems."""
    return request.app.state.container


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer` header, for code outside FastAPI's dependencies."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _unauthorized(request: Request, detail: str, error: str | None = None) -> ProblemException:
    parameters = []
    if request.app.state.settings.uses_identity_provider:
        # RFC 9728 §5.1: where a client learns which providers and audience this ledger takes.
        parameters.append(
            f'resource_metadata="{protected_resource_url(request.app.state.settings)}"'
        )
    if error:
        parameters.append(f'error="{error}"')
    challenge = " ".join(("Bearer", ", ".join(parameters))).strip()
    return ProblemException(401, detail, headers={"WWW-Authenticate": challenge})


async def caller_from_request(request: Request, credentials: str | None) -> Caller:
    header = request.headers.get("authorization")
    if header is not None and len(header) > MAX_AUTHORIZATION_BYTES:
        raise _unauthorized(
            request, f"the Authorization header is longer than {MAX_AUTHORIZATION_BYTES} bytes; "
            "send the bearer token alone", "invalid_token",
        )
    if credentials is None:
        raise _unauthorized(request, "this needs a bearer token: Authorization: Bearer <JWT>")
    verifier: Verifier = request.app.state.token_verifier
    try:
        try:
            return verifier.verify(credentials)
        except KeysNeeded:
            # The provider's keys must be fetched: network I/O, done in a worker thread.
            return await run_in_threadpool(verifier.verify, credentials, may_fetch=True)
    except BadToken as error:
        raise _unauthorized(request, error.detail, "invalid_token") from None
    except ProviderUnreachable as error:
        raise ProblemException(503, error.detail, headers={"Retry-After": "30"}) from None


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def allow(*roles: Role) -> Callable[..., Awaitable[Caller]]:
    """A dependency that lets only these roles through (403 for the others)."""
    allowed = frozenset(roles)

    # Authenticates itself rather than through a dependency of its own: one dependency less to
    # solve on every request (FastAPI's solving is a good part of a request's time).
    async def gate(request: Request, credentials: Credentials) -> Caller:
        caller = await caller_from_request(
            request, credentials.credentials if credentials else None
        )
        if caller.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise ProblemException(403, f"a {caller.role.value} may not do this (only: {names})")
        return caller

    return gate


async def read_side(
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
    """The read models to answer from: this store's, or a replica's (api/bootstrap.py,
    projections/read_models/read_sources.py), once they have reached `min_position`."""
    state = request.app.state
    sources: ReadSources = state.container.reads
    source = sources.choose()
    if source is None:
        raise no_readable_replica()
    if min_position is not None:
        try:
            await reach(
                source.read, sources.last_position, min_position,
                state.settings.read_wait_seconds, state.read_waits, lambda: caller_key(request),
            )
        except ProblemException as behind:
            # A replica that has not reached the position in time: the primary may have.
            other = sources.fallback_for(source)
            if behind.status != 503 or other is None:
                raise
            if await run_in_threadpool(other.read.position) < min_position:
                raise
            return other.read
    return source.read


def no_readable_replica() -> ProblemException:
    return ProblemException(
        503, "no read replica can answer now (each is down or too far behind) and this "
        "process does not read from the primary (LEDGER_READ_FALLBACK=unavailable)",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


def caller_key(request: Request) -> str:
    """Who is asking, for per-caller limits: the token's caller; without a valid token, the
    client's address."""
    token = bearer_token(request)
    if token is not None and len(token) <= MAX_AUTHORIZATION_BYTES:
        try:
            # Never fetches: by now the route's own check has verified the token (or not).
            return request.app.state.token_verifier.verify(token).key
        except (BadToken, KeysNeeded, ProviderUnreachable):
            pass
    return f"address:{request.client.host if request.client else 'unknown'}"


async def current_ledger(
    request: Request,
    min_position: Annotated[
        int | None,
        Query(
            ge=0, le=MAX_POSITION,
            description="accepted as on every GET; this answer comes from the ledger "
            "itself, which has every stored position (beyond the last one is a 422)",
        ),
    ] = None,
) -> Ledger:
    """For GETs answered from the events themselves: every position stored is reached. A
    position beyond the last stored event is refused, as on every other GET; a read-only
    process on a replica, which may not have received it yet, says so with a 503 instead."""
    ledger: Ledger = request.app.state.stores.ledger
    if min_position is not None and min_position > 0:
        last = int(await run_in_threadpool(ledger.recorder.max_notification_id) or 0)
        if min_position > last:
            if request.app.state.container.reads.last_position is None:
                raise ProblemException(
                    503, f"this replica has not received position {min_position} yet (it is "
                    f"at {last}); try again shortly", headers={"Retry-After": RETRY_AFTER_SECONDS},
                )
            raise beyond_the_last_event(last)
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
CurrentLedgerDep = Annotated[Ledger, Depends(current_ledger)]
ReadDep = Annotated[ReadSide, Depends(read_side)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ContainerDep = Annotated[Container, Depends(get_container)]

Officer = Annotated[Caller, Depends(allow(Role.OFFICER))]
Auditor = Annotated[Caller, Depends(allow(Role.AUDITOR))]
Staff = Annotated[Caller, Depends(allow(Role.STAFF))]
Customer = Annotated[Caller, Depends(allow(Role.CUSTOMER))]
System = Annotated[Caller, Depends(allow(Role.SYSTEM))]
OFFICER_OR_SYSTEM = (Role.OFFICER, Role.SYSTEM)
OfficerOrSystem = Annotated[Caller, Depends(allow(*OFFICER_OR_SYSTEM))]
OfficerOrAuditor = Annotated[Caller, Depends(allow(Role.OFFICER, Role.AUDITOR))]
StaffOrCustomer = Annotated[Caller, Depends(allow(Role.STAFF, Role.CUSTOMER))]
TenantReader = Annotated[
    Caller, Depends(allow(Role.OFFICER, Role.AUDITOR, Role.CUSTOMER))
]
"""Those who read a tenant's things: officers, auditors, and that tenant's own customers."""
AccessRequestReader = Annotated[
    Caller, Depends(allow(Role.STAFF, Role.CUSTOMER, Role.OFFICER, Role.AUDITOR))
]
"""Those who read access requests: their tenant's customers, the staff who made them,
officers and auditors."""
CONSENT_READERS = (Role.SYSTEM, Role.OFFICER, Role.AUDITOR)
ConsentReader = Annotated[Caller, Depends(allow(*CONSENT_READERS))]
"""Those who ask about consent: the vendor's systems before they write, officers, auditors."""
# Everyone who acts in the ledger; a witness only reads the log (LogReader).
PARTICIPANTS = tuple(role for role in Role if role is not Role.WITNESS)
LogReader = Annotated[Caller, Depends(allow(*Role))]
"""Those who read the log's signed checkpoints and hash tiles: every role, witnesses included
(the hashes reveal no event; the entries themselves are for auditors)."""
