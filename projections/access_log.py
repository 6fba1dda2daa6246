"""The tenant access log: every allowed access, refusal and disclosure, and the tenant's purge.

The purge is in the log because it is the last thing done with the tenant's data: the
customer (and an auditor) can see when its data was deleted for good, and by whom.

Rows are only ever added, so the log "as of" a past moment is simply the rows up to it.
The notification id is kept as `position`: it breaks ties between entries of the same time
and makes keyset paging exact.
"""

from __future__ import annotations

from domain.access import AccessRequest
from domain.disclosure import Disclosure
from domain.tenant import Tenant
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.tables import ACCESS_LOG, micros

ALLOWED, REFUSED, DISCLOSED, PURGED = "allowed", "refused", "disclosed", "purged"
OUTCOMES = (ALLOWED, REFUSED, DISCLOSED, PURGED)
PURGE_DETAIL = (
    "the 60 days after termination ended: the data keys of the tenant and of all its "
    "subjects were destroyed, so none of their personal data can be read again"
)

_INSERT = (
    "INSERT INTO access_log (position, tenant_id, at, actor, action, resource, request_id, "
    "outcome, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


class AccessLog(Projection):
    name = "access_log"
    tables = (ACCESS_LOG,)

    def handlers(self) -> dict[type, Handler]:
        return {
            AccessRequest.AccessRecorded: self._allowed,
            AccessRequest.AccessRefused: self._refused,
            Disclosure.Recorded: self._disclosed,
            Tenant.Purged: self._purged,
        }

    def _allowed(self, cur: Cursor, event: AccessRequest.AccessRecorded, position: int) -> None:
        cur.execute(_INSERT, (
            position, str(event.tenant_id), micros(event.timestamp), event.actor, event.action,
            event.resource, str(event.originator_id), ALLOWED, None,
        ))

    def _refused(self, cur: Cursor, event: AccessRequest.AccessRefused, position: int) -> None:
        cur.execute(_INSERT, (
            position, str(event.tenant_id), micros(event.timestamp), event.actor, event.action,
            event.resource, str(event.originator_id), REFUSED, event.refusal,
        ))

    def _disclosed(self, cur: Cursor, event: Disclosure.Recorded, position: int) -> None:
        cur.execute(_INSERT, (
            position, str(event.tenant_id), micros(event.timestamp), event.actor, "disclose",
            event.recipient, None, DISCLOSED, f"{event.legal_basis}: {event.reference}",
        ))

    def _purged(self, cur: Cursor, event: Tenant.Purged, position: int) -> None:
        tenant_id = str(event.originator_id)
        cur.execute(_INSERT, (
            position, tenant_id, micros(event.timestamp), event.actor, "purge",
            f"tenants/{tenant_id}", None, PURGED, PURGE_DETAIL,
        ))
