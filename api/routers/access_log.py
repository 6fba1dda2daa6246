"""A tenant's access log: every access, refusal, disclosure and purge, newest first, as JSON
pages or as one CSV file of the whole (filtered) log."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api.http.deps import ReadDep, TenantReader
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented, field_problem
from api.services.access_log_csv import access_log_csv_chunks
from api.services.visibility import ensure_own_tenant, not_found
from api.schemas.access import AccessLogEntry
from projections.read_models.access_log import OUTCOMES

router = APIRouter(
    prefix="/v1/tenants", tags=["access log"], route_class=IdempotentRoute,
    responses=documented(401, 403, 404, 422),
)
NO_NUL = r"^[^\x00]*$"


@router.get(
    "/{tenant_id}/access-log",
    responses={
        **documented(503),
        200: {
            "description": "a page of the log; with `format=csv` the whole filtered log as one "
            "CSV file (`after` and `limit` do not apply)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
def access_log(
    tenant_id: UUID, caller: TenantReader, read: ReadDep, page: PagingDep,
    since: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")] = None,
    until: Annotated[AwareDatetime | None, Query(description="ISO 8601 with a zone")] = None,
    actor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    outcome: Annotated[
        str | None,
        Query(max_length=20, pattern=NO_NUL, description="allowed, refused, disclosed or purged"),
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
    if format == "csv":
        # One file of everything that matches, read a page at a time while it streams.
        chunks = access_log_csv_chunks(
            read, tenant_id, since=since, until=until, actor=actor, outcome=outcome
        )
        return StreamingResponse(  # type: ignore[return-value]
            chunks, media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="access-log-{tenant_id}.csv"',
                "Cache-Control": "no-store",
            },
        )
    found = fetch_page(page, lambda: read.access_log(
        tenant_id, since=since, until=until, actor=actor, outcome=outcome,
        after=page.after, limit=page.limit,
    ))
    return Page[AccessLogEntry].model_validate(found)
