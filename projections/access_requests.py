"""Staff access requests by tenant and status, each with the history of its decisions.

Individual reads under a grant are in the access log, not here: a read grant may be used
thousands of times, and the history should stay the story of the request itself.
"""

from __future__ import annotations

import json
from typing import Any

from domain.access import AccessRequest
from domain.tenant import Tenant
from domain.values import Scope
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.sealed_columns import ColumnSealer
from projections.tables import ACCESS_REQUEST_HISTORY, ACCESS_REQUESTS, micros


class AccessRequests(Projection):
    name = "access_requests"
    tables = (ACCESS_REQUESTS, ACCESS_REQUEST_HISTORY)

    def __init__(self, sealer: ColumnSealer) -> None:
        self.sealer = sealer

    def handlers(self) -> dict[type, Handler]:
        return {
            AccessRequest.Requested: self._requested,
            AccessRequest.Approved: self._approved,
            AccessRequest.Denied: self._closed_with_reason,
            AccessRequest.Revoked: self._closed_with_reason,
            AccessRequest.Expired: self._timed_out,
            AccessRequest.GrantEnded: self._timed_out,
            AccessRequest.AccessRecorded: self._used,
            Tenant.Purged: self._tenant_purged,
        }

    def _history(
        self, cur: Cursor, event: Any, position: int, tenant_id: str, name: str,
        actor: str | None, detail: str | None, reason: Any = None,
    ) -> None:
        rid = str(event.originator_id)
        sealed = self.sealer.seal(
            tenant_id, ACCESS_REQUEST_HISTORY.name, (rid, position), "reason", reason
        )
        cur.execute(
            "INSERT INTO access_request_history (request_id, position, tenant_id, at, event, "
            "actor, detail, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (rid, position, tenant_id, micros(event.timestamp), name, actor, detail, sealed),
        )

    def _history_without_reason(
        self, cur: Cursor, event: Any, position: int, name: str, actor: str | None,
        detail: str | None,
    ) -> None:
        """A history row for an event that does not carry its tenant: the tenant comes from
        the request's row inside the same statement. Reading it first would need a result
        in the middle of the runner's pipelined batch, which PostgreSQL's pipeline refuses."""
        cur.execute(
            "INSERT INTO access_request_history (request_id, position, tenant_id, at, event, "
            "actor, detail, reason) SELECT id, %s, tenant_id, %s, %s, %s, %s, NULL "
            "FROM access_requests WHERE id = %s",
            (position, micros(event.timestamp), name, actor, detail, str(event.originator_id)),
        )

    def _requested(self, cur: Cursor, event: AccessRequest.Requested, position: int) -> None:
        rid, tid = str(event.originator_id), str(event.tenant_id)
        at = micros(event.timestamp)
        cur.execute(
            "INSERT INTO access_requests (id, tenant_id, requester, scope, resources, reason, "
            "ticket, duration_minutes, status, requested_at, expires_at, approver, granted_scope, "
            "granted_resources, valid_until, decided_at, updated_at, position) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s, NULL, NULL, NULL, NULL, NULL, "
            "%s, %s)",
            (
                rid, tid, event.requester, event.scope, json.dumps(list(event.resources)),
                self.sealer.seal(tid, ACCESS_REQUESTS.name, (rid,), "reason", event.reason),
                event.ticket, event.duration_minutes, at, micros(event.expires_at), at, position,
            ),
        )
        self._history(
            cur, event, position, tid, "requested", event.requester,
            f"{event.scope} on {', '.join(event.resources)} for {event.duration_minutes} minutes",
        )

    def _approved(self, cur: Cursor, event: AccessRequest.Approved, position: int) -> None:
        rid = str(event.originator_id)
        at = micros(event.timestamp)
        cur.execute(
            "UPDATE access_requests SET status = 'approved', approver = %s, granted_scope = %s, "
            "granted_resources = %s, valid_until = %s, decided_at = %s, updated_at = %s "
            "WHERE id = %s",
            (event.approver, event.scope, json.dumps(list(event.resources)),
             micros(event.valid_until), at, at, rid),
        )
        self._history_without_reason(
            cur, event, position, "approved", event.approver,
            f"{event.scope} on {', '.join(event.resources)} for {event.duration_minutes} minutes",
        )

    def _closed_with_reason(self, cur: Cursor, event: Any, position: int) -> None:
        rid, tid = str(event.originator_id), str(event.tenant_id)
        status = "denied" if isinstance(event, AccessRequest.Denied) else "revoked"
        at = micros(event.timestamp)
        decided = ", decided_at = %s" if status == "denied" else ""
        params: tuple[Any, ...] = (status, at) + ((at,) if decided else ()) + (rid,)
        cur.execute(
            f"UPDATE access_requests SET status = %s, updated_at = %s{decided} WHERE id = %s",
            params,
        )
        self._history(cur, event, position, tid, status, event.actor, None, event.reason)

    def _timed_out(self, cur: Cursor, event: Any, position: int) -> None:
        rid = str(event.originator_id)
        status = "expired" if isinstance(event, AccessRequest.Expired) else "ended"
        cur.execute(
            "UPDATE access_requests SET status = %s, updated_at = %s WHERE id = %s",
            (status, micros(event.timestamp), rid),
        )
        self._history_without_reason(cur, event, position, status, None, None)

    def _used(self, cur: Cursor, event: AccessRequest.AccessRecorded, position: int) -> None:
        if event.action == Scope.READ.value:
            return  # a read leaves the grant as it was; the access log has it
        rid, tid = str(event.originator_id), str(event.tenant_id)
        cur.execute(
            "UPDATE access_requests SET status = 'used', updated_at = %s WHERE id = %s",
            (micros(event.timestamp), rid),
        )
        self._history(
            cur, event, position, tid, "used", event.actor, f"{event.action} {event.resource}"
        )

    def _tenant_purged(self, cur: Cursor, event: Tenant.Purged, position: int) -> None:
        tid = str(event.originator_id)
        cur.execute("UPDATE access_requests SET reason = NULL WHERE tenant_id = %s", (tid,))
        cur.execute(
            "UPDATE access_request_history SET reason = NULL WHERE tenant_id = %s", (tid,)
        )
