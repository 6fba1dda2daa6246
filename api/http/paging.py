"""Keyset paging over HTTP: `after` (an opaque cursor the previous page gave out) and `limit`
(1 to `MAX_LIMIT`, `DEFAULT_LIMIT` when not given), and `Page`, the response schema of a list.

The limits and the shape of a page are the read side's (projections/read_models/queries/
paging.py); this module only says them in FastAPI's and the OpenAPI schema's terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from api.http.problems import field_problem
from domain.errors import InvalidInput
from projections.read_models.queries.paging import DEFAULT_LIMIT, MAX_LIMIT
from projections.read_models.queries.paging import Page as ReadPage

T = TypeVar("T")


@dataclass(frozen=True)
class Paging:
    after: str | None
    limit: int


def paging(
    after: Annotated[
        str | None,
        Query(
            max_length=500, pattern="^[A-Za-z0-9_-]*$",
            description="the `next` cursor of the previous page",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> Paging:
    return Paging(after=after or None, limit=limit)


PagingDep = Annotated[Paging, Depends(paging)]


# A read-side `Page` as the API answers it, its items in their response schema `T`
# (tests/unit/test_read_model_pages.py keeps the two shapes the same). No docstring: it would
# become the description of every page in the OpenAPI schema.
class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


def fetch_page(page: Paging, fetch: Callable[[], ReadPage]) -> ReadPage:
    """Runs a read-side list; a cursor the read side cannot decode is the caller's mistake."""
    try:
        return fetch()
    except InvalidInput as error:
        if error.field in ("after", "limit"):
            raise field_problem(error.field, error.detail, "query") from None
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        # e.g. a well-formed cursor carrying a number no column can hold
        if page.after is None:
            raise
        raise field_problem("after", "is not a cursor this API gave out", "query") from None
