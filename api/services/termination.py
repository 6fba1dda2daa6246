"""Terminating a tenant closes it: its pending requests and active grants end with it, as events.

The tenant's termination is one event on the tenant; each request it ends is an event on that
request (`AccessRequest.EndedWithTenancy`), so the customer's and the auditor's history of
every request says how it ended. Which requests are open comes from the read side, once it
has seen the termination. A request the read side had not seen yet cannot outlive the
termination either: the domain refuses to approve or use a request asked in an earlier
tenancy, and the sweep ends it as soon as the read side lists it.

The answer waits (bounded) until the read side has seen all of it, so that any read that
starts after it, on any process, finds the tenant closed: its customer's reads refused and
its subjects' consent answered "no".
"""

from __future__ import annotations

from uuid import UUID

from domain.ledger import Ledger, Outcome
from domain.vocabulary import ACCESS_REQUEST_IN_FORCE
from projections.read_models.queries.contract import ReadSide
from projections.read_models.queries.paging import MAX_LIMIT as PAGE


def terminate(
    ledger: Ledger, read: ReadSide, tenant_id: UUID, actor: str, wait_seconds: float
) -> Outcome:
    outcome = ledger.terminate_tenant(tenant_id, actor)
    read.wait_for(outcome.position, wait_seconds)
    last = outcome.position
    for request_id in _open_requests(read, tenant_id):
        ended = ledger.end_access_with_tenancy(request_id, actor)
        if ended is not None:
            last = max(last, ended.position)
    read.wait_for(last, wait_seconds)
    return Outcome(outcome.aggregate, last)


def _open_requests(read: ReadSide, tenant_id: UUID) -> list[UUID]:
    found: list[UUID] = []
    for status in ACCESS_REQUEST_IN_FORCE:
        after = None
        while True:
            page = read.access_requests(tenant_id=tenant_id, status=status, after=after, limit=PAGE)
            found += [UUID(str(item["id"])) for item in page["items"]]
            after = page["next"]
            if after is None:
                break
    return found
