"""Staff access: the access requests (one with its history, or a page of them) and the tenant's
access log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidInput
from projections.read_models.access_log import OUTCOMES
from projections.read_models.queries.base import Queries, checked_micros, filters
from projections.read_models.queries.paging import DEFAULT_LIMIT, Page, keyset_page
from projections.read_models.tables import moment

_REQUEST_COLUMNS = (
    "id, tenant_id, requester, scope, resources, reason, ticket, duration_minutes, status, "
    "requested_at, expires_at, approver, granted_scope, granted_resources, valid_until, "
    "decided_at, updated_at, position, decided_by"
)
_LOG_COLUMNS = (
    "at, actor, action, resource, request_id, outcome, detail, position, subject_id, reason"
)


class AccessQueries(Queries):
    def access_request(self, request_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            f"SELECT {_REQUEST_COLUMNS} FROM access_requests WHERE id = %s", (str(request_id),)
        )
        if row is None:
            return None
        item = self._access_request_item(row)
        item["history"] = [
            {
                "at": moment(at), "event": event, "actor": actor,
                "detail": detail if sealed is None else self.sealer.open(
                    tenant_id, "access_request_history", (item["id"], position), "reason", sealed
                ),
            }
            for position, tenant_id, at, event, actor, detail, sealed in self.db.fetchall(
                "SELECT position, tenant_id, at, event, actor, detail, reason "
                "FROM access_request_history WHERE request_id = %s ORDER BY position",
                (item["id"],),
            )
        ]
        return item

    def access_requests(
        self, *, tenant_id: UUID | str | None = None, status: str | None = None,
        requester: str | None = None, after: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first."""
        where, params = filters(
            ("tenant_id", tenant_id), ("status", status), ("requester", requester)
        )
        return keyset_page(
            self.db, _REQUEST_COLUMNS, "access_requests", where, params, after, limit,
            order=("position",), descending=True, item=self._access_request_item,
        )

    def _access_request_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (rid, tenant_id, requester, scope, resources, reason, ticket, duration, status,
         requested_at, expires_at, approver, granted_scope, granted_resources, valid_until,
         decided_at, updated_at, position, decided_by) = row
        return {
            "id": rid, "tenant_id": tenant_id, "requester": requester, "scope": scope,
            "resources": json.loads(resources),
            "reason": self.sealer.open(tenant_id, "access_requests", (rid,), "reason", reason),
            "ticket": ticket, "duration_minutes": duration, "status": status,
            "requested_at": moment(requested_at), "expires_at": moment(expires_at),
            "approver": approver, "granted_scope": granted_scope,
            "granted_resources": json.loads(granted_resources) if granted_resources else [],
            "valid_until": moment(valid_until), "decided_at": moment(decided_at),
            "updated_at": moment(updated_at), "position": position, "decided_by": decided_by,
        }

    def access_log(
        self, tenant_id: UUID | str, *, since: datetime | None = None,
        until: datetime | None = None, actor: str | None = None, outcome: str | None = None,
        after: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first by (at, position). `until` gives the log as it stood at that moment:
        entries are only ever added, so the rows up to it are exactly what was there then."""
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidInput("outcome", f"outcome must be one of: {', '.join(OUTCOMES)}")
        where, params = filters(("tenant_id", tenant_id), ("actor", actor), ("outcome", outcome))
        if since is not None:
            where.append("at >= %s")
            params.append(checked_micros(since, "since"))
        if until is not None:
            where.append("at <= %s")
            params.append(checked_micros(until, "until"))
        return keyset_page(
            self.db, _LOG_COLUMNS, "access_log", where, params, after, limit,
            order=("at", "position"), descending=True, item=self._access_log_item,
        )

    def _access_log_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        at, actor, action, resource, request_id, outcome, detail, position, sid, sealed = row
        if sealed is not None:  # a vendor's read with its reason, in the reader's words
            detail = self.sealer.open(sid, "access_log", (position,), "reason", sealed)
        return {
            "at": moment(at), "actor": actor, "action": action, "resource": resource,
            "request_id": request_id, "outcome": outcome, "detail": detail,
            "position": position,
        }
