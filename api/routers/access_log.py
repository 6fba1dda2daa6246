"""A tenant's access log: every access, refusal and disclosure, newest first, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from api.dependencies import ReadDep, TenantReader, ensure_own_tenant, not_found
from api.idempotency import IdempotentRoute
from api.paging import Page, PagingDep, fetch_page
from api.problems import documented, field_problem
from api.schemas.access import AccessLogEntry
from projections.access_log import OUTCOMES

router = APIRouter(
    prefix="/v1/tenants", tags=["access log"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
CSV_COLUMNS = ("at", "actor", "action", "resource", "request_id", "outcome", "detail")
NO_NUL = r"^[^\x00]*$"


@router.get(
    "/{tenant_id}/access-log",
    responses={
        **documented(503),
        200: {
            "description": "the page of the log; with `format=csv` as CSV, the next page "
            'in a `Link: <...>; rel="next"` header',
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def access_log(
    request: Request, tenant_id: UUID, caller: TenantReader, read: ReadDep, page: PagingDep,
    since: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")] = None,
    until: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")] = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    outcome: Annotated[
        str | None, Query(max_length=20, pattern=NO_NUL, description="allowed, refused or disclosed")
    ] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Page[AccessLogEntry]:
    """Who touched the tenant's data, when, under which request, and what came of it."""
    ensure_own_tenant(caller, tenant_id, "tenant", tenant_id)
    if outcome is not None and outcome not in OUTCOMES:
        raise field_problem("outcome", f"must be one of: {', '.join(OUTCOMES)}", "query")
    if since is not None and until is not None and since > until:
        raise field_problem("until", "must not be before since", "query")
    if read.tenant(tenant_id) is None:
        raise not_found("tenant", tenant_id)
    found = fetch_page(page, lambda: read.access_log(
        tenant_id, since=since, until=until, actor=actor, outcome=outcome,
        after=page.after, limit=page.limit,
    ))
    result = Page[AccessLogEntry].model_validate(found)
    if format == "csv":
        return _csv(request, result)  # type: ignore[return-value]
    return result


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet: a resource name chosen by
    # staff must not run in the customer's Excel (OWASP "CSV injection").
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(request: Request, page: Page[AccessLogEntry]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in page.items:
        row = entry.model_dump(mode="json")
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    headers = {}
    if page.next is not None:
        query = dict(request.query_params)
        query["after"] = page.next
        headers["Link"] = f'<{request.url.path}?{urlencode(query)}>; rel="next"'
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
