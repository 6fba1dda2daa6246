"""Answers that carry a secret (a webhook's or a registered system's signing secret): shown
once, never kept. The idempotency layer (api/http/idempotency.py) stores an answer as it is, to
replay it; such a route refuses `Idempotency-Key` rather than keep the secret for a day."""

from __future__ import annotations

from fastapi import Depends, Request

from api.http.idempotency import HEADER
from api.http.problems import FieldProblem, ProblemException


async def secret_not_kept(request: Request) -> None:
    """An answer with a signing secret is never stored for replay (api/http/idempotency.py
    keeps answers as they are): such a route refuses the key rather than keep the secret."""
    if HEADER in request.headers:
        detail = ("not taken here: the answer carries a signing secret, which is shown once and "
                  "never stored; list them to see whether a first try made one")
        raise ProblemException(422, f"{HEADER}: {detail}", errors=[
            FieldProblem(field=HEADER, location="header", detail=detail)
        ])


SecretShownOnce = [Depends(secret_not_kept)]
