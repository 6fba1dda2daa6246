"""A fast path for the API's busiest routes (consent checks and decisions), beside FastAPI's.

FastAPI's own handling of a request (solving the dependencies, validating the parameters and
the answer, anyio's hop to a thread) cost most of a consent check's CPU in the profiles of
docs/benchmarks.md. A route of `FastPathRoute` whose endpoint names a fast function
(`answers_quickly`) first offers each request to it. The fast function answers only the common,
well-formed case: a canonical id, a known purpose, a valid token of an allowed role, a body the
route's own model accepts, no Idempotency-Key, only the query parameters it knows. For anything
else it returns None before doing anything, and FastAPI's handler answers exactly as on every
route (401, 403, 422 naming the field, idempotent replays). Both paths run the same command or
query and build the same answer model, so an answer does not depend on which path gave it
(tests/e2e/test_consent_fast_path.py compares them byte for byte).

The fast path hops to its own pool of threads with the request's context (its request id in the
logs), without anyio's capacity limiter and cancel scope, which a plain executor does not need.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from uuid import UUID

from fastapi import Request, Response
from pydantic import BaseModel

from api.http.auth import BadToken, Caller, KeysNeeded, ProviderUnreachable, Role
from api.http.deps import MAX_AUTHORIZATION_BYTES, bearer_token
from api.http.idempotency import IdempotentRoute

T = TypeVar("T")
FastAnswer = Callable[[Request], Awaitable[Response | None]]
# As many as anyio lends FastAPI's routes by default: a consent decision's thread waits for
# the group commit, and the more callers wait together, the larger each commit's batch.
HOT_THREADS = 40
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def answers_quickly(fast: FastAnswer) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Marks a route's endpoint as answered by `fast` when `fast` can (see the module)."""

    def mark(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        endpoint.fast_answer = fast  # type: ignore[attr-defined]
        return endpoint

    return mark


class FastPathRoute(IdempotentRoute):
    """IdempotentRoute, with the endpoint's fast function tried first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        fast: FastAnswer | None = getattr(self.endpoint, "fast_answer", None)
        if fast is None:
            return handler

        async def fast_or_full(request: Request) -> Response:
            answer = await fast(request)
            return answer if answer is not None else await handler(request)

        return fast_or_full


def hot_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=HOT_THREADS, thread_name_prefix="ledger-hot")


async def in_thread(request: Request, work: Callable[..., T], *args: Any) -> T:
    """`work(*args)` in the app's hot threads, with this request's context."""
    context = contextvars.copy_context()
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app.state.hot_threads, context.run, work, *args)


def quick_caller(request: Request, allowed: Iterable[Role]) -> Caller | None:
    """The caller of a valid token of an allowed role, verified without fetching anything;
    None for everything else (the full path then says what is wrong)."""
    header = request.headers.get("authorization")
    if header is None or len(header) > MAX_AUTHORIZATION_BYTES:
        return None
    token = bearer_token(request)
    if token is None:
        return None
    try:
        caller: Caller = request.app.state.token_verifier.verify(token)
    except (BadToken, KeysNeeded, ProviderUnreachable):
        return None
    return caller if caller.role in allowed else None


def canonical_uuid(text: str) -> UUID | None:
    """The id in its canonical form (lower-case, hyphenated) only: other spellings that the
    full path may read differently are left to it."""
    return UUID(text) if _CANONICAL_UUID.fullmatch(text) else None


def json_answer(model: BaseModel, status_code: int = 200) -> Response:
    """As FastAPI answers a route that returns a model: the model's JSON by alias."""
    return Response(model.model_dump_json(by_alias=True), status_code=status_code,
                    media_type="application/json")
