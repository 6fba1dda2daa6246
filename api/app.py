"""The FastAPI application: the HTTP contract of DESIGN.md §6 over the ledger and its read side.

`create_app` opens the stores at once (so a misconfiguration fails at start, not at the
first request) and starts the background workers in the lifespan: the projection runner
that keeps the read models, and the sealer that adds every event to the Merkle log. With
SQLite and memory they always run in-process (`ledger serve` is the whole deployment there,
and a memory store cannot be shared at all); with PostgreSQL they run in every API process
too, unless settings leave them to `ledger worker` (several runners on PostgreSQL are safe:
one applies, the others stand by).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import RedirectResponse

from api import logging_setup, metrics, request_ids, tracing
from api.bootstrap import build
from api.container import Container

from api.http import problems
from api.http.store_errors import READ_ONLY_DETAIL
from api.http.auth import verifier_from_settings
from api.http.fast_path import hot_threads
from api.http.protected_resource import document_identity
from api.http import docs_pages
from api.http.openapi_edges import document_edges
from api.http.query_parameters import StrictQueryRoute
from api.http.read_waits import MAX_WAITS_PER_CALLER, ReadWaits
from api.http.limits import BodyLimits
from api.portal.router import router as portal_router
from api.privacy_center.router import router as privacy_center_router
from api.routers import consent_batch
from api.routers import (
    access_log,
    audit,
    access_requests,
    banner,
    banner_assets,
    consents,
    contacts,
    data_requests,
    disclosures,
    health,
    incidents,
    privacy,
    propagations,
    protected_resource,
    sites,
    subjects,
    systems,
    tenants,
    transparency,
    unsubscribe,
    visitors,
    webhooks,
    witnesses,
)
from api.settings import Settings, get_settings
from domain.clock import Clock
from projections.read_models.queries.paging import MAX_LIMIT
from projections.storage import postgres
from projections.storage.idempotency import LIFETIME

DESCRIPTION = f"""
The Compliance Ledger records consent, staff access to customers' data, subjects' requests,
incidents and disclosures as immutable, verifiable events.

**Authentication**: `Authorization: Bearer <JWT>` with claims `sub`, `role` (staff, customer,
officer, system, auditor, witness), `exp`, and `tenant` for customers. Locally:
`.venv/bin/ledger token --role officer --actor olga`.

**Errors** are `application/problem+json` (RFC 9457): 401 no or bad token, 403 a role that may
not do it, 404 not found (also: another tenant's anything, for a customer), 409 a conflict
with the current state, 422 bad input naming the field.

**Writes** answer with `position`; pass it as `min_position` to any GET to read your own write
(a position beyond the last stored event is a 422; more than {MAX_WAITS_PER_CALLER} waits at once per caller, 429).
POST, PUT and PATCH accept `Idempotency-Key`: the same key and body within {LIFETIME // timedelta(hours=1)} hours gives the
first answer again and records nothing new. **Lists** page with `after` and `limit`
(1..{MAX_LIMIT}). **Unknown query parameters** are a 422 naming each.
"""


def _run_workers_here(settings: Settings) -> bool:
    if not settings.database_url.startswith(postgres.URLS):
        return True
    # PostgreSQL deployments may leave the workers to `ledger worker`.
    return settings.run_workers


# Added to every answer that does not set them itself.
_FRAMING_REFUSED = (
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
)


class _Guard:
    """The ledger's own middleware, as one pure ASGI layer (each layer is another coroutine
    and another `send` wrapper on every request):

    - no answer of the ledger may be shown inside another site's frame (clickjacking): the
      portal's pages set a full Content-Security-Policy themselves; every other answer (JSON,
      a 404 under /portal, /docs, and the limits' own 413 and 422) gets
      `frame-ancestors 'none'` and `X-Frame-Options: DENY`;
    - request bodies are held to the size and depth limits (api/http/limits.py).
    """

    def __init__(self, app: Any, max_bytes: int, max_depth: int, read_only: bool = False) -> None:
        self.app = app
        self.limits = BodyLimits(app, max_bytes=max_bytes, max_depth=max_depth)
        self.read_only = read_only

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_refusing_frames(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    header for header in _FRAMING_REFUSED if header[0] not in present
                )
                message["headers"] = headers
            await send(message)

        if self.read_only and scope["method"] not in _READS:
            # Refused before anything is read or checked: nothing here could record it.
            await problems.problem_response(None, 503, READ_ONLY_DETAIL)(
                scope, receive, send_refusing_frames
            )
            return
        admitted = await self.limits.admit(scope, receive, send_refusing_frames)
        if admitted is not None:
            await self.app(scope, admitted, send_refusing_frames)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})  # what a read-only process answers

# The routers in the order the API documentation shows them.
_ROUTERS = (
    health.router, tenants.router, subjects.router, consents.router, data_requests.router,
    access_requests.router, access_log.router, disclosures.router, incidents.router,
    contacts.router, webhooks.router, systems.router, propagations.router,
    consent_batch.router, sites.router, visitors.router, audit.router, witnesses.router, transparency.router,
    unsubscribe.router, privacy.router, privacy_center_router, banner.router,
    banner_assets.router, protected_resource.router, portal_router,
)
# Tried first when a request is matched to its route: every route tried costs a regular
# expression, and consent writes and checks are most of the traffic. No other router has a
# path that could match theirs, so the order changes no answer.
_HOT_ROUTERS = (consents.router,)


def _in_documented_order(routes: list[Any]) -> list[Any]:
    position = {id(router): index for index, router in enumerate(_ROUTERS)}
    return sorted(
        routes, key=lambda route: position.get(id(getattr(route, "original_router", None)), -1)
    )


def create_app(
    settings: Settings | None = None, *, clock: Clock | None = None,
    container: Container | None = None,
) -> FastAPI:
    """The app over `container`, or over one built here from `settings` (api/bootstrap.py).
    The app owns it from then on: its lifespan starts the workers and closes it."""
    tracing.before_stores()  # psycopg is traced only on connections opened after this
    if container is None:
        container = build(settings or get_settings(), clock=clock, private=True)
    settings, stores = container.settings, container.stores
    try:
        logging_setup.install_redaction(logging_setup.known_secrets(settings))
        # Its table, at start; a read-only process takes no writes to be idempotent about.
        idempotency = None if container.read_only else container.idempotency()
        verifier = verifier_from_settings(settings)
    except BaseException:
        container.close()
        raise
    in_process = _run_workers_here(settings) and not container.read_only

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if in_process:
            container.start()
        loop_dbs = container.reads.databases()
        try:
            for db in loop_dbs:
                await db.open_for_the_loop()  # the consent check's connections (fast_path.py)
            yield
        finally:
            for db in loop_dbs:
                await db.close_for_the_loop()
            app.state.hot_threads.shutdown(wait=True)
            container.close()

    app = FastAPI(
        title="Compliance Ledger", version="1", description=DESCRIPTION, lifespan=lifespan,
        docs_url=None, redoc_url=None,  # served offline by docs_pages below
    )
    app.router.route_class = StrictQueryRoute  # the app's own routes refuse unknown queries too
    app.state.container = container
    app.state.settings = settings
    app.state.stores = stores
    app.state.read = container.read_side.read_models
    app.state.read_side = container.read_side
    app.state.sealer = container.sealer
    app.state.idempotency = idempotency
    app.state.read_waits = ReadWaits()
    app.state.token_verifier = verifier
    app.state.hot_threads = hot_threads()  # the consent routes' fast path (api/http/fast_path.py)
    app.state.workers_in_process = in_process

    problems.install(app)
    # Operators' view (docs/operations.md): request ids in the logs, metrics, traces.
    metrics.install(app, container)
    request_ids.install(app, settings)
    tracing.install(app, settings)
    app.add_middleware(
        _Guard, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth,
        read_only=container.read_only,
    )
    for router in (*_HOT_ROUTERS, *(r for r in _ROUTERS if r not in _HOT_ROUTERS)):
        app.include_router(router)
    docs_pages.install(app)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/docs")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=_in_documented_order(app.routes),
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problems.openapi_components())
            document_edges(schema)
            document_identity(schema, settings)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
