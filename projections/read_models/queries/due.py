"""What time has made due, for `ledger sweep`: the ids of the requests, grants, tenants and
incidents whose deadline or time limit has passed and on which the domain has not acted yet.

The statuses are the vocabulary's and the edges domain/deadlines.py's: a deadline is missed
once `deadline < overdue_before(now)`, a time limit has run out once `limit <
lapsed_before(now)`, so SQL asks with the cut-off as a parameter what the aggregates ask with
`is_past` and `has_lapsed`. The domain decides again for each id (the sweep loads the aggregate
and asks it): these queries only keep the sweep from loading everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.deadlines import lapsed_before, overdue_before
from domain.vocabulary import ACCESS_REQUEST_IN_FORCE, DATA_REQUEST_CLOSED, TenantStatus
from domain.vocabulary import AccessRequestStatus
from projections.read_models.queries.base import Queries, checked_micros


def _marks(values: tuple[Any, ...]) -> str:
    return ", ".join(["%s"] * len(values))


class DueQueries(Queries):
    def due_for_sweep(self, now: datetime) -> dict[str, list[UUID]]:
        checked_micros(now, "now")  # a time with a zone, or InvalidInput naming `now`
        missed = checked_micros(overdue_before(now), "now")  # deadlines before it are missed
        lapsed = checked_micros(lapsed_before(now), "now")  # time limits before it ran out

        def ids(sql: str, *params: Any) -> list[UUID]:
            return [UUID(row[0]) for row in self.db.fetchall(sql, params)]

        return {
            # Requests of a closed tenant, or asked in a tenancy its termination ended; an
            # old request without a tenancy is judged by the domain (it may have ended).
            "end_with_tenancy": ids(
                "SELECT r.id FROM access_requests r JOIN tenants t ON t.id = r.tenant_id "
                f"WHERE r.status IN ({_marks(ACCESS_REQUEST_IN_FORCE)}) AND (t.status <> %s "
                "OR r.tenancy <> t.tenancy OR (r.tenancy IS NULL AND t.tenancy > 0)) "
                "ORDER BY r.position", *ACCESS_REQUEST_IN_FORCE, TenantStatus.ACTIVE),
            "expire_requests": ids(
                "SELECT id FROM access_requests WHERE status = %s AND expires_at < %s "
                "ORDER BY position", AccessRequestStatus.PENDING, lapsed),
            "end_grants": ids(
                "SELECT id FROM access_requests WHERE status = %s AND valid_until < %s "
                "ORDER BY position", AccessRequestStatus.APPROVED, lapsed),
            "purge_tenants": ids(
                "SELECT id FROM tenants WHERE status = %s AND purge_after < %s "
                "ORDER BY position", TenantStatus.TERMINATED, missed),
            "overdue_requests": ids(
                f"SELECT id FROM data_requests WHERE status NOT IN "
                f"({_marks(DATA_REQUEST_CLOSED)}) AND overdue = 0 AND due_at < %s "
                "ORDER BY due_at, position", *DATA_REQUEST_CLOSED, missed),
            "overdue_incidents": ids(
                "SELECT id FROM incidents WHERE authority_notified_at IS NULL AND overdue = 0 "
                "AND authority_due_at < %s ORDER BY position", missed),
        }
