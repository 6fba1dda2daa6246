"""Staff access requests by tenant and status, each with the history of its decisions.

Individual reads under a grant are in the access log, not here: a read grant may be used
thousands of times, and the history should stay the story of the request itself. Each step of
the history is named by the status it led to ("approved", "used", ...); the first is "requested".
"""

from __future__ import annotations

import json
from typing import Any

from domain.access import TERMINATION_ENDED, AccessRequest
from domain.tenant import Tenant
from domain.vocabulary import AccessRequestStatus
from domain.vocabulary import Scope
from projections.read_models.base import Handler, Projection, Row, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import ACCESS_REQUEST_HISTORY, ACCESS_REQUESTS, micros


class AccessRequests(Projection):
    name = "access_requests"
    version = 2  # 2: who decided (decided_by), the tenancy asked in, ended with the tenancy
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
            AccessRequest.EndedWithTenancy: self._ended_with_tenancy,
            AccessRequest.AccessRecorded: self._used,
            Tenant.Purged: self._tenant_purged,
        }

    def _history(
        self, w: Writer, event: Any, position: int, tenant_id: str, name: str,
        actor: str | None, detail: str | None, reason: Any = None,
    ) -> None:
        rid = str(event.originator_id)
        w.insert(ACCESS_REQUEST_HISTORY, {
            **_history_row(event, position, name, actor, detail),
            "reason": self.sealer.seal(
                tenant_id, ACCESS_REQUEST_HISTORY.name, (rid, position), "reason", reason
            ),
            "tenant_id": tenant_id,
        })

    def _history_without_reason(
        self, w: Writer, event: Any, position: int, name: str, actor: str | None,
        detail: str | None,
    ) -> None:
        """A history row for an event that does not carry its tenant: the request's row has
        it."""
        w.insert_copying(
            ACCESS_REQUEST_HISTORY,
            {**_history_row(event, position, name, actor, detail), "reason": None},
            ACCESS_REQUESTS, (str(event.originator_id),), {"tenant_id": "tenant_id"},
        )

    def _requested(self, w: Writer, event: AccessRequest.Requested, position: int) -> None:
        rid, tid = str(event.originator_id), str(event.tenant_id)
        at = micros(event.timestamp)
        w.insert(ACCESS_REQUESTS, {
            "id": rid, "tenant_id": tid, "requester": event.requester, "scope": event.scope,
            "resources": json.dumps(list(event.resources)),
            "reason": self.sealer.seal(tid, ACCESS_REQUESTS.name, (rid,), "reason", event.reason),
            "ticket": event.ticket, "duration_minutes": event.duration_minutes,
            "status": AccessRequestStatus.PENDING, "requested_at": at,
            "expires_at": micros(event.expires_at),
            "approver": None, "granted_scope": None, "granted_resources": None,
            "valid_until": None, "decided_at": None, "updated_at": at, "position": position,
            "decided_by": None, "tenancy": event.tenancy,
        })
        self._history(
            w, event, position, tid, "requested", event.requester,
            f"{event.scope} on {', '.join(event.resources)} for {event.duration_minutes} minutes",
        )

    def _approved(self, w: Writer, event: AccessRequest.Approved, position: int) -> None:
        rid = str(event.originator_id)
        at = micros(event.timestamp)
        w.update(ACCESS_REQUESTS, (rid,), {
            "status": AccessRequestStatus.APPROVED, "approver": event.approver,
            "granted_scope": event.scope,
            "granted_resources": json.dumps(list(event.resources)),
            "valid_until": micros(event.valid_until), "decided_at": at, "updated_at": at,
            "decided_by": event.approver,
        })
        self._history_without_reason(
            w, event, position, AccessRequestStatus.APPROVED, event.approver,
            f"{event.scope} on {', '.join(event.resources)} for {event.duration_minutes} minutes",
        )

    def _closed_with_reason(self, w: Writer, event: Any, position: int) -> None:
        rid, tid = str(event.originator_id), str(event.tenant_id)
        status = (
            AccessRequestStatus.DENIED if isinstance(event, AccessRequest.Denied)
            else AccessRequestStatus.REVOKED
        )
        at = micros(event.timestamp)
        # Only a denial is a decision: a revocation leaves the approval's `decided_at`, but
        # who ended it is who decided its fate last.
        decided = {"decided_at": at} if status == AccessRequestStatus.DENIED else {}
        w.update(ACCESS_REQUESTS, (rid,), {
            "status": status, "updated_at": at, "decided_by": event.actor, **decided,
        })
        self._history(w, event, position, tid, status, event.actor, None, event.reason)

    def _timed_out(self, w: Writer, event: Any, position: int) -> None:
        rid = str(event.originator_id)
        status = (
            AccessRequestStatus.EXPIRED if isinstance(event, AccessRequest.Expired)
            else AccessRequestStatus.ENDED
        )
        w.update(ACCESS_REQUESTS, (rid,), {"status": status, "updated_at": micros(event.timestamp)})
        self._history_without_reason(w, event, position, status, None, None)

    def _ended_with_tenancy(
        self, w: Writer, event: AccessRequest.EndedWithTenancy, position: int
    ) -> None:
        at = micros(event.timestamp)
        w.update(ACCESS_REQUESTS, (str(event.originator_id),), {
            "status": AccessRequestStatus.ENDED, "updated_at": at, "decided_by": event.actor,
        })
        self._history_without_reason(
            w, event, position, AccessRequestStatus.ENDED, event.actor, TERMINATION_ENDED
        )

    def _used(self, w: Writer, event: AccessRequest.AccessRecorded, position: int) -> None:
        if event.action == Scope.READ.value:
            return  # a read leaves the grant as it was; the access log has it
        rid, tid = str(event.originator_id), str(event.tenant_id)
        w.update(ACCESS_REQUESTS, (rid,), {
            "status": AccessRequestStatus.USED, "updated_at": micros(event.timestamp),
        })
        self._history(
            w, event, position, tid, AccessRequestStatus.USED, event.actor,
            f"{event.action} {event.resource}",
        )

    def _tenant_purged(self, w: Writer, event: Tenant.Purged, position: int) -> None:
        for table in (ACCESS_REQUESTS, ACCESS_REQUEST_HISTORY):
            w.update_where(table, {"tenant_id": str(event.originator_id)}, {"reason": None})


def _history_row(
    event: Any, position: int, name: str, actor: str | None, detail: str | None
) -> Row:
    return {
        "request_id": str(event.originator_id), "position": position,
        "at": micros(event.timestamp), "event": name, "actor": actor, "detail": detail,
    }
