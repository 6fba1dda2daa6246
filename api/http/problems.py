"""Every error as RFC 9457 `application/problem+json`, mapped from the domain's four families.

The domain raises NotFound, InvalidInput (naming the field), NotPermitted and StateConflict;
this module is the only place that knows which HTTP status each family means. Anything a
client can send ends here as a 4xx with a `detail` a person can act on, never a 500.

A database that does not answer (restarting, failing over, out of connections) is not a bug
either: it is 503 with `Retry-After`, so clients and load balancers retry instead of giving up.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    AccessRefused,
    DomainError,
    InvalidInput,
    NotFound,
    NotPermitted,
    StateConflict,
)
from api.http.store_errors import (
    READ_ONLY_DETAIL, database_unavailable, written_in_a_read_only_process,
)
from projections.storage.follower import unreachable_errors

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("ledger.api")

# A restart or a failover takes seconds; asking again sooner only adds load.
UNAVAILABLE_RETRY_AFTER_SECONDS = "2"


class FieldProblem(BaseModel):
    field: str = Field(description="the offending field: a body field, query or path parameter, or header")
    location: str = Field(description="body, query, path or header")
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details; `errors` lists each bad field of a 422."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "email: email must look like name@example.org",
                    "errors": [
                        {"field": "email", "location": "body",
                         "detail": "email must look like name@example.org"}
                    ],
                }
            ]
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None
    position: int | None = Field(
        None, description="for a refused access: the position of the recorded refusal"
    )


class ProblemException(Exception):
    """Raised by the API layer itself (auth, read-side lag, idempotency) for a problem answer."""

    def __init__(
        self, status: int, detail: str, *, headers: dict[str, str] | None = None,
        errors: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


def field_problem(field: str, detail: str, location: str = "body") -> ProblemException:
    return ProblemException(
        422, f"{field}: {detail}", errors=[FieldProblem(field=field, location=location, detail=detail)]
    )


def problem_response(
    request: Request | None, status: int, detail: str, *, headers: dict[str, str] | None = None,
    errors: list[FieldProblem] | None = None, position: int | None = None,
) -> JSONResponse:
    problem = Problem(
        title=_title(status),
        status=status,
        detail=detail,
        instance=request.url.path if request is not None else None,
        errors=errors,
        position=position,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _title(status: int) -> str:
    if status == 422:
        return "Unprocessable Content"  # RFC 9110's name; Python still says "Entity"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def domain_status(error: DomainError) -> int:
    """The HTTP status of a rule breach, by its family (domain/errors.py)."""
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidInput):
        return 422
    if isinstance(error, NotPermitted):
        return 403
    # StateConflict, and any rule breach not yet given a family: the state says no.
    return 409


def response_for(request: Request, error: Exception) -> JSONResponse | None:
    """The problem answer for an error a client can cause, or None for a bug (a real 500).

    The idempotency layer calls this too, so that a first answer that was an error is
    stored and replayed exactly like a success.
    """
    if isinstance(error, ProblemException):
        return problem_response(
            request, error.status, error.detail, headers=error.headers, errors=error.errors
        )
    if isinstance(error, AccessRefused):
        return problem_response(request, 403, error.detail, position=error.position)
    if isinstance(error, InvalidInput):
        return problem_response(
            request, 422, f"{error.field}: {error.detail}",
            errors=[FieldProblem(
                field=error.field, location=_location(request, error.field), detail=error.detail
            )],
        )
    if isinstance(error, DomainError):
        return problem_response(request, domain_status(error), error.detail)
    if isinstance(error, RequestValidationError):
        return _validation_response(request, error)
    if written_in_a_read_only_process(error):
        return problem_response(request, 503, READ_ONLY_DETAIL)
    if database_unavailable(error):
        return unavailable_response(request, error)
    if isinstance(error, StarletteHTTPException):
        if error.status_code == 400:
            # FastAPI's only 400: a body that is not even text. Bad input is 422 here.
            return problem_response(
                request, 422, "body: the body is not valid UTF-8 JSON",
                errors=[FieldProblem(field="body", location="body", detail="is not valid UTF-8 JSON")],
            )
        detail = error.detail if isinstance(error.detail, str) else _title(error.status_code)
        if error.status_code == 404 and detail == "Not Found":
            detail = f"there is nothing at {request.url.path}"
        return problem_response(
            request, error.status_code, detail, headers=dict(error.headers or {})
        )
    return None


def unavailable_response(request: Request | None, error: BaseException) -> JSONResponse:
    # One line, no traceback, no message text: a driver's message can quote SQL parameters.
    where = f" on {request.method} {request.url.path}" if request is not None else ""
    log.warning("database unavailable%s (%s); answered 503", where, type(error).__name__)
    return problem_response(
        request, 503, "the database is not answering right now; retry shortly",
        headers={"Retry-After": UNAVAILABLE_RETRY_AFTER_SECONDS},
    )


def _location(request: Request, field: str) -> str:
    """Where a field the domain refused came from: the domain names fields, not places."""
    if field in request.path_params:
        return "path"
    if field in request.query_params:
        return "query"
    return "body"


def _validation_response(request: Request, error: RequestValidationError) -> JSONResponse:
    problems = [_field_problem(item) for item in error.errors()]
    detail = "; ".join(f"{p.field}: {p.detail}" for p in problems) or "the request is not valid"
    return problem_response(request, 422, detail, errors=problems)


def _field_problem(item: dict[str, Any]) -> FieldProblem:
    loc = [str(part) for part in item.get("loc", ())]
    location = loc[0] if loc else "body"
    field = ".".join(loc[1:]) if len(loc) > 1 else location
    if location == "header":
        field = field.replace("_", "-")
    message = str(item.get("msg", "is not valid"))
    if item.get("type") == "missing":
        message = "is required"
    elif item.get("type") == "json_invalid":
        field, message = "body", "the body is not valid JSON"
    return FieldProblem(field=field, location=location, detail=message)


async def _handle(request: Request, error: Exception) -> JSONResponse:
    response = response_for(request, error)
    if response is None:
        log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
        return problem_response(request, 500, "the ledger failed to answer; this is our fault")
    return response


def install(app: FastAPI) -> None:
    for kind in (
        ProblemException, DomainError, RequestValidationError, StarletteHTTPException,
        NotFound, InvalidInput, NotPermitted, StateConflict, AccessRefused,
    ):
        app.add_exception_handler(kind, _handle)
    # Named here so that Starlette answers them in its exception middleware; the catch-all
    # below also answers 503 for them (and for errors raised from them), but logs a traceback.
    for kind in unreachable_errors():
        app.add_exception_handler(kind, _handle)
    app.add_exception_handler(Exception, _handle)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route can answer (the Problem schema
    itself is added to the components by `openapi_components`)."""
    return {
        status: {
            "description": _title(status),
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def openapi_components() -> dict[str, Any]:
    """The Problem schema and what it refers to, for the OpenAPI document's components."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}
