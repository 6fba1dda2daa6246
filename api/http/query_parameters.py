"""Unknown query parameters are refused (422 naming each one) on every route.

A misspelt filter (`?outcom=refused`) would otherwise be ignored, and the answer would look
like a real answer to a question the client never asked. The names a route accepts are the
ones FastAPI itself reads for it: the query parameters of the route's function and of every
dependency it uses (`min_position`, `after`, `limit`, ...), so a parameter added anywhere
is accepted without touching this module.

It runs in the route class every router uses (`StrictQueryRoute`, which `IdempotentRoute`
and the portal's `PortalRoute` extend), before the route's own dependencies, so nothing is
read or waited for on a request that is refused anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.http.problems import FieldProblem, ProblemException

DETAIL = "is not a query parameter of this route"


class UnknownQueryParameters(ProblemException):
    """422 naming every unknown parameter; the portal shows it as a page (api/portal)."""

    def __init__(self, unknown: list[str], accepted: Iterable[str]) -> None:
        known = ", ".join(sorted(accepted))
        hint = f"it accepts: {known}" if known else "it takes no query parameters"
        super().__init__(
            422, "; ".join(f"{name}: {DETAIL}" for name in unknown) + f" ({hint})",
            errors=[FieldProblem(field=name, location="query", detail=DETAIL) for name in unknown],
        )
        self.unknown = unknown


def accepted_names(dependant: Dependant) -> frozenset[str]:
    """The query parameter names a route reads: its own and its dependencies', by alias."""
    names: set[str] = set()
    pending, seen = [dependant], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for field in current.query_params:
            names.update(_names_of(field))
        pending.extend(current.dependencies)
    return frozenset(names)


def _names_of(field: Any) -> set[str]:
    annotation = field.field_info.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # A pydantic model of query parameters: FastAPI reads each of its fields.
        return {f.alias or name for name, f in annotation.model_fields.items()}
    return {field.alias}


class StrictQueryRoute(APIRoute):
    """The route class of every router: a request naming a query parameter the route does
    not read is refused before the route runs. A check in the route itself, not an app-wide
    dependency: FastAPI solves each dependency on every request, and this one is asked only
    of requests that carry a query string."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        accepted = accepted_names(self.dependant)

        async def strict(request: Request) -> Response:
            if request.scope.get("query_string"):
                unknown = sorted(set(request.query_params.keys()) - accepted)
                if unknown:
                    raise UnknownQueryParameters(unknown, accepted)
            return await handler(request)

        return strict
