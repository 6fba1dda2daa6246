"""The tenant access log: every allowed access, refusal and disclosure, every read of a subject's
personal data by the vendor's people, and the tenant's purge.

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
from domain.vendor_read import VendorRead
from domain.vocabulary import AccessLogOutcome
from projections.read_models.base import Handler, Projection, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import ACCESS_LOG, micros

OUTCOMES = tuple(outcome.value for outcome in AccessLogOutcome)  # what a reader may filter by
# The detail of a vendor's read justified by the subject's request rather than a reason.
ANSWERING_REQUEST = "to answer the subject's request"
PURGE_DETAIL = (
    "the 60 days after termination ended: the data keys of the tenant and of all its "
    "subjects were destroyed, so none of their personal data can be read again"
)


def _entry(
    position: int, tenant_id: str, at: int | None, actor: str, action: str, resource: str,
    request_id: str | None, outcome: str, detail: str | None, subject_id: str | None = None,
    reason: str | None = None,
) -> dict[str, object]:
    return {
        "position": position, "tenant_id": tenant_id, "at": at, "actor": actor,
        "action": action, "resource": resource, "request_id": request_id, "outcome": outcome,
        "detail": detail, "subject_id": subject_id, "reason": reason,
    }


class AccessLog(Projection):
    name = "access_log"
    version = 2  # 2: the vendor's reads, with the subject read and the sealed reason
    tables = (ACCESS_LOG,)

    def __init__(self, sealer: ColumnSealer) -> None:
        self.sealer = sealer

    def handlers(self) -> dict[type, Handler]:
        return {
            AccessRequest.AccessRecorded: self._allowed,
            AccessRequest.AccessRefused: self._refused,
            Disclosure.Recorded: self._disclosed,
            VendorRead.Recorded: self._read_by_vendor,
            Tenant.Purged: self._purged,
        }

    def _allowed(self, w: Writer, event: AccessRequest.AccessRecorded, position: int) -> None:
        w.insert(ACCESS_LOG, _entry(
            position, str(event.tenant_id), micros(event.timestamp), event.actor, event.action,
            event.resource, str(event.originator_id), AccessLogOutcome.ALLOWED, None,
        ))

    def _refused(self, w: Writer, event: AccessRequest.AccessRefused, position: int) -> None:
        w.insert(ACCESS_LOG, _entry(
            position, str(event.tenant_id), micros(event.timestamp), event.actor, event.action,
            event.resource, str(event.originator_id), AccessLogOutcome.REFUSED, event.refusal,
        ))

    def _disclosed(self, w: Writer, event: Disclosure.Recorded, position: int) -> None:
        w.insert(ACCESS_LOG, _entry(
            position, str(event.tenant_id), micros(event.timestamp), event.actor, "disclose",
            event.recipient, None, AccessLogOutcome.DISCLOSED,
            f"{event.legal_basis}: {event.reference}",
        ))

    def _read_by_vendor(self, w: Writer, event: VendorRead.Recorded, position: int) -> None:
        """Only a tenant's subjects have a tenant to show the read to."""
        if event.tenant_id is None:
            return
        sid = str(event.subject_id)
        w.insert(ACCESS_LOG, _entry(
            position, str(event.tenant_id), micros(event.timestamp), event.actor,
            f"read {event.what}", f"subjects/{sid}",
            None if event.request_id is None else str(event.request_id),
            AccessLogOutcome.VENDOR_READ,
            None if event.reason is not None else ANSWERING_REQUEST, sid,
            self.sealer.seal(sid, ACCESS_LOG.name, (position,), "reason", event.reason),
        ))

    def _purged(self, w: Writer, event: Tenant.Purged, position: int) -> None:
        tenant_id = str(event.originator_id)
        w.insert(ACCESS_LOG, _entry(
            position, tenant_id, micros(event.timestamp), event.actor, "purge",
            f"tenants/{tenant_id}", None, AccessLogOutcome.PURGED, PURGE_DETAIL,
        ))
