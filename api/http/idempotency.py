"""`Idempotency-Key` on every write (POST, PUT, PATCH): a retried request gets the first
answer, not a second event.

The first request with a key inserts an in-progress row (the primary key makes that
atomic across threads and processes), runs, and stores its answer. A request with the
same key, caller and body returns the stored answer (waiting while the first is still
running); the same key with another body is a 422. Answers of 500 and above are not kept,
so a retry after a failure runs again. Keys live 24 hours.

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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Request, Response
from psycopg_pool import PoolTimeout
from starlette.concurrency import run_in_threadpool

from api.http.deps import bearer_token, caller_from_request
from api.http.query_parameters import StrictQueryRoute
from api.http.problems import (
    FieldProblem,
    ProblemException,
    database_unavailable,
    problem_response,
    response_for,
)
from domain.clock import Clock
from projections.storage.database import Database

HEADER = "Idempotency-Key"
# Every method that writes. A PUT is idempotent by HTTP's definition, but each one records
# an event here (the ledger keeps every decision), so a retried PUT needs the key as much
# as a retried POST.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
LIFETIME = timedelta(hours=24)
WAIT_SECONDS = 30.0
POLL_SECONDS = 0.02
MAX_KEY_LENGTH = 255
SWEEP_EVERY = 500  # claims between two deletions of expired keys
KEPT_HEADERS = ("location",)
# Longer than any request runs, so only a claim whose process died (or lost the database for
# good) is taken over by a retry.
ABANDONED_AFTER = timedelta(minutes=2)
SETTLE_SECONDS = 15.0  # how long storing an answer or freeing a key waits out an outage

log = logging.getLogger("ledger.api")

MINE, DONE, BUSY = "mine", "done", "busy"


@dataclass(frozen=True)
class Claim:
    state: str
    body_sha256: str
    status: int | None = None
    response: str | None = None


def _stamp(moment: datetime) -> str:
    # Fixed width, so that text comparison is time comparison on both stores.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class IdempotencyStore:
    def __init__(self, db: Database, clock: Clock, fingerprint_key: bytes) -> None:
        self.db = db
        self.clock = clock
        self.fingerprint_key = fingerprint_key
        self._claims = 0
        db.executescript(
            """
            CREATE TABLE IF NOT EXISTS idempotency_keys (
                actor TEXT NOT NULL,
                key TEXT NOT NULL,
                body_sha256 TEXT NOT NULL,
                status INTEGER,
                response TEXT,
                created_at TEXT NOT NULL,
                PRIMARY KEY (actor, key)
            );
            CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at);
            """
        )

    def claim(self, actor: str, key: str, body_sha256: str, at: datetime | None = None) -> Claim:
        """`at`: the claim's moment (now by default), by which `withdraw` finds it."""
        now = at or self.clock.now()
        self._claims += 1
        if self._claims % SWEEP_EVERY == 0:
            self.forget_expired()  # keeps the table to about one day of keys
        with self.db.transaction() as cur:
            # A key older than its lifetime is forgotten, and an in-progress claim older than
            # ABANDONED_AFTER was abandoned: either way the request counts as new.
            cur.execute(
                "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND (created_at < %s "
                "OR (status IS NULL AND created_at < %s))",
                (actor, key, _stamp(now - LIFETIME), _stamp(now - ABANDONED_AFTER)),
            )
            cur.execute(
                "INSERT INTO idempotency_keys (actor, key, body_sha256, created_at) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (actor, key) DO NOTHING",
                (actor, key, body_sha256, _stamp(now)),
            )
            if cur.rowcount == 1:
                return Claim(MINE, body_sha256)
            cur.execute(
                "SELECT body_sha256, status, response FROM idempotency_keys "
                "WHERE actor = %s AND key = %s",
                (actor, key),
            )
            row = cur.fetchone()
        if row is None:  # released between our insert and select: try again
            return Claim(BUSY, body_sha256)
        stored_sha, status, response = row
        if status is None:
            return Claim(BUSY, stored_sha)
        return Claim(DONE, stored_sha, int(status), response)

    def finish(self, actor: str, key: str, status: int, response: str) -> None:
        self.db.execute(
            "UPDATE idempotency_keys SET status = %s, response = %s WHERE actor = %s AND key = %s",
            (status, response, actor, key),
        )

    def withdraw(self, actor: str, key: str, body_sha256: str, at: datetime) -> None:
        """Deletes the claim made `at` if it was stored after all and is still unanswered."""
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND body_sha256 = %s "
            "AND status IS NULL AND created_at = %s",
            (actor, key, body_sha256, _stamp(at)),
        )

    def release(self, actor: str, key: str) -> None:
        self.db.execute(
            "DELETE FROM idempotency_keys WHERE actor = %s AND key = %s AND status IS NULL",
            (actor, key),
        )

    def forget_expired(self) -> int:
        return self.db.execute(
            "DELETE FROM idempotency_keys WHERE created_at < %s",
            (_stamp(self.clock.now() - LIFETIME),),
        )


def _fingerprint(request: Request, body: bytes) -> str:
    # The route is part of "the body": the same key sent to another route is a different request.
    # Keyed (HMAC), because a body names people: a plain hash of it, kept in a copy of the
    # store, would confirm a guessed name or e-mail long after the person was erased.
    store: IdempotencyStore = request.app.state.idempotency
    digest = hmac.new(store.fingerprint_key, digestmod=hashlib.sha256)
    digest.update(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def fingerprint_key(root: bytes) -> bytes:
    """The requests' fingerprint key, derived from the key store's derivation root."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"compliance-ledger/idempotency/v1"
    ).derive(root)


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
                caller = caller_from_request(request, bearer_token(request))
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
