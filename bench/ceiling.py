"""The ceiling the HTTP figures are judged against: a trivial endpoint that only checks a JWT
(HS256, PyJWT), on the consent routes' paths, served exactly as the ledger is (`ledger serve`'s
uvicorn, httptools with the same header limits, uvloop, a socket of its own per worker) and
loaded by the same client. What the ledger answers above that is its own cost.

`python -m bench.ceiling --port P --workers N` serves it; the secret comes from
BENCH_CEILING_SECRET (the bench's own, in the environment)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

SECRET_VARIABLE = "BENCH_CEILING_SECRET"


def create_app() -> Any:
    import jwt
    from fastapi import FastAPI, Header, HTTPException

    secret = os.environ[SECRET_VARIABLE]
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def checked(authorization: str | None) -> dict[str, Any]:
        if not authorization or not authorization.startswith("Bearer "):
            raise HTTPException(401)
        try:
            return jwt.decode(authorization[7:], secret, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            raise HTTPException(401) from None

    @app.get("/v1/subjects/{subject_id}/consents/{purpose}")
    async def ask(
        subject_id: str, purpose: str, authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        return {"subject_id": subject_id, "purpose": purpose, "actor": checked(authorization)["sub"]}

    @app.put("/v1/subjects/{subject_id}/consents/{purpose}")
    async def decide(
        subject_id: str, purpose: str, authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        return {"subject_id": subject_id, "purpose": purpose, "actor": checked(authorization)["sub"]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main(argv: list[str]) -> None:
    from api.cli.serve import run_uvicorn
    from api.http.header_limits import HeaderLimitedProtocol

    parser = argparse.ArgumentParser(prog="python -m bench.ceiling")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    run_uvicorn("bench.ceiling:create_app", {
        "factory": True, "host": "127.0.0.1", "port": args.port, "workers": args.workers,
        "log_level": "warning", "http": HeaderLimitedProtocol,
    })


if __name__ == "__main__":
    main(sys.argv[1:])
