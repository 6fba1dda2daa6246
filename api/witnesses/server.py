"""`ledger witness serve`'s HTTP side: C2SP tlog-witness over FastAPI (uvicorn serves it).

    POST <prefix>/add-checkpoint                  old size, proof, checkpoint → cosignature line
    GET  <prefix>/<sha256(origin), hex>/checkpoint the latest note it cosigned for that log

Answers are the protocol's own: text, not JSON. A refusal's body is one line saying why, except
the 409, whose body is exactly the witness's size and a newline (`text/x.tlog.size`), which
clients parse. The checks themselves are protocol.py's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.witnesses.protocol import Refusal, Witness, parse_submission
from api.witnesses.state import WitnessState
from projections.merkle_log.signed_notes import Verifier

MAX_BODY_BYTES = 64 * 1024  # 63 proof lines and a note with 100 signatures fit in a quarter
SIZE_MEDIA_TYPE = "text/x.tlog.size"
log = logging.getLogger("ledger.witness")


def create_witness_app(
    witness: Witness, prefix: str = "", *, max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    app = FastAPI(title=f"witness {witness.name}", docs_url=None, redoc_url=None, openapi_url=None)
    router = APIRouter(prefix=prefix.rstrip("/"))

    @router.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = await _read_limited(request, max_body_bytes)
        if body is None:
            return _refused(Refusal(413, f"the body is larger than {max_body_bytes} bytes"))
        try:
            submission = parse_submission(body)
            # In a thread: it waits on the state's lock and on fsync.
            signature = await run_in_threadpool(witness.add_checkpoint, submission)
        except Refusal as refusal:
            return _refused(refusal)
        log.info("cosigned %s at size %d", submission.checkpoint.origin,
                 submission.checkpoint.tree_size)
        return PlainTextResponse(signature.line())

    @router.get("/{origin_hash}/checkpoint")
    async def checkpoint(origin_hash: str) -> Response:
        logs = await run_in_threadpool(witness.state.read)
        for origin, cosigned in logs.items():
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                return PlainTextResponse(cosigned.note)
        return PlainTextResponse("this witness has cosigned no checkpoint of that log\n", 404)

    app.include_router(router)
    return app


def witness_app(
    state: WitnessState, name: str, key: Ed25519PrivateKey, logs: Sequence[Verifier],
    prefix: str = "",
) -> FastAPI:
    """The app over a witness's state: what `ledger witness serve` runs."""
    return create_witness_app(Witness(name, key, logs, state), prefix)


async def _read_limited(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes (never held whole beyond it)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refused(refusal: Refusal) -> Response:
    if refusal.status == 409:
        # Exactly this type: Starlette would add a charset to a text/* media_type.
        return Response(f"{refusal.size}\n", 409, headers={"content-type": SIZE_MEDIA_TYPE})
    return PlainTextResponse(refusal.detail + "\n", refusal.status)
