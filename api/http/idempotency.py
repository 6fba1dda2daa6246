"""`Idempotency-Key` on every write (POST, PUT, PATCH): a retried request gets the first
answer, not a second event.

The first request with a key claims it (projections/storage/idempotency.py keeps the claims),
runs, and stores its answer. A request with the same key, caller and body returns the stored
answer (waiting while the first is still running); the same key with another body is a 422.
Answers of 500 and above are not kept, so a retry after a failure runs again. Keys live 24
hours.

The database may go away while a request runs (a restart, a failover). Storing the answer or
freeing the key then rides out a short outage, and the decided answer reaches the client
either way; a claim whose process never came back (killed, or the database stayed away) lapses
after ABANDONED_AFTER, so its key is not blocked for a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import Request, Response
from psycopg_pool import PoolTimeout
from starlette.concurrency import run_in_threadpool

from api.http.deps import bearer_token, caller_from_request
from api.http.query_parameters import StrictQueryRoute
from api.http.store_errors import database_unavailable
from api.http.problems import (
    FieldProblem,
    ProblemException,
    problem_response,
    response_for,
)
from projections.storage.idempotency import (
    ABANDONED_AFTER,
    DONE,
    MINE,
    Claim,
    IdempotencyStore,
)

HEADER = "Idempotency-Key"
# Every method that writes. A PUT is idempotent by HTTP's definition, but each one records
# an event here (the ledger keeps every decision), so a retried PUT needs the key as much
# as a retried POST.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("location",)
SETTLE_SECONDS = 15.0  # how long storing an answer or freeing a key waits out an outage

log = logging.getLogger("ledger.api")


def _fingerprint(request: Request, body: bytes) -> str:
    # The route is part of "the body": the same key sent to another route is a different request.
    # Keyed (HMAC), because a body names people: a plain hash of it, kept in a copy of the
    # store, would confirm a guessed name or e-mail long after the person was erased.
    store: IdempotencyStore = request.app.state.idempotency
    digest = hmac.new(store.fingerprint_key, digestmod=hashlib.sha256)
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _key_problem(request: Request, detail: str) -> Response:
    return problem_response(
        request, 422, f"{HEADER}: {detail}",
        errors=[FieldProblem(field=HEADER, location="header", detail=detail)],
    )


def _stored(response: Response) -> str:
    headers = {k: v for k, v in response.headers.items() if k.lower() in KEPT_HEADERS}
    return json.dumps(
        {
            "media_type": response.media_type or response.headers.get("content-type"),
            "body": bytes(response.body).decode("utf-8"),
            "headers": headers,
        }
    )


def _replay(claim: Claim) -> Response:
    assert claim.status is not None and claim.response is not None
    stored = json.loads(claim.response)
    headers = dict(stored.get("headers") or {})
    headers["Idempotent-Replayed"] = "true"
    return Response(
        stored["body"].encode("utf-8"), status_code=claim.status,
        media_type=stored.get("media_type"), headers=headers,
    )


class IdempotentRoute(StrictQueryRoute):
    """Route class of the API's routers: writes honour `Idempotency-Key`, reads are as is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not WRITE_METHODS & (self.methods or set()):
            return handler

        async def idempotent(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return await handler(request)
            if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
                return _key_problem(request, f"must be 1 to {MAX_KEY_LENGTH} printable characters")
            try:
                caller = await caller_from_request(request, bearer_token(request))
            except ProblemException:
                return await handler(request)  # the route itself answers the 401
            body = await request.body()
            return await _once(request, handler, caller.key, key, _fingerprint(request, body))

        return idempotent


async def _once(
    request: Request, handler: Callable[[Request], Coroutine[Any, Any, Response]],
    actor: str, key: str, fingerprint: str,
) -> Response:
    store: IdempotencyStore = request.app.state.idempotency
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        claim = await _claim(store, actor, key, fingerprint)
        if claim.body_sha256 != fingerprint:
            return _key_problem(
                request, "was already used with another body or route; use a new key"
            )
        if claim.state == DONE:
            return _replay(claim)
        if claim.state == MINE:
            break
        if time.monotonic() > deadline:
            return problem_response(
                request, 409, "a request with this Idempotency-Key is still running; retry shortly",
                headers={"Retry-After": "1"},
            )
        await anyio.sleep(POLL_SECONDS)

    # Shielded: a request cancelled while it runs (the client gone, the server shutting down)
    # still finishes and keeps its answer. A sync route runs in a thread nobody can stop, so
    # its write happens anyway; freeing the key then would let the retry write a second time.
    with anyio.CancelScope(shield=True):
        try:
            response = await handler(request)
        except Exception as error:
            answer = response_for(request, error)
            if answer is None:
                await _settle(store.release, actor, key)
                raise
            response = answer
        except BaseException:
            await _settle(store.release, actor, key)  # the process is going down
            raise
        if response.status_code >= 500:
            await _settle(store.release, actor, key)
            return response
        await _settle(store.finish, actor, key, response.status_code, _stored(response))
    return response


async def _claim(store: IdempotencyStore, actor: str, key: str, fingerprint: str) -> Claim:
    """`store.claim`. Should the database go away while the claim commits, the commit may have
    reached the disk without its answer reaching us: the client's retries would then find the
    key "still running" until ABANDONED_AFTER. So that claim, found by its moment, is withdrawn
    in the background once the database is back. (No connection at all: nothing was stored.)"""
    at = store.clock.now()
    try:
        return await run_in_threadpool(store.claim, actor, key, fingerprint, at)
    except Exception as error:
        if database_unavailable(error) and not isinstance(error, PoolTimeout):
            task = asyncio.get_running_loop().create_task(
                _settle(store.withdraw, actor, key, fingerprint, at)
            )
            _WITHDRAWING.add(task)  # a task nobody holds may be collected before it is done
            task.add_done_callback(_WITHDRAWING.discard)
        raise


_WITHDRAWING: set[asyncio.Task[None]] = set()


async def _settle(step: Callable[..., Any], *args: Any) -> None:
    """Store the answer or free the key, waiting out a short database outage. The answer is
    decided (a write may already be in the log), so it goes to the client even if this fails:
    the claim then stays in progress and lapses after ABANDONED_AFTER."""
    deadline = time.monotonic() + SETTLE_SECONDS
    pause = 0.1
    while True:
        try:
            await run_in_threadpool(step, *args)
            return
        except Exception as error:
            if not database_unavailable(error) or time.monotonic() + pause > deadline:
                log.warning(
                    "could not %s an idempotency key (%s); the claim lapses in %s",
                    step.__name__, type(error).__name__, ABANDONED_AFTER,
                )
                return
        await anyio.sleep(pause)
        pause = min(pause * 2, 1.0)
