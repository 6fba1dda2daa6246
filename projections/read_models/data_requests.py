"""Subjects' requests with their deadline; the subject's erasure or the tenant's purge clears
the free-text fields, which are sealed with the subject's key."""

from __future__ import annotations

from typing import Any

from domain.data_request import DataRequest
from domain.subject import Subject
from domain.tenant import Tenant
from domain.vocabulary import DataRequestKind
from domain.vocabulary import DataRequestStatus
from projections.read_models.base import Handler, Projection, Row, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import DATA_REQUESTS, micros

# The free-text fields, sealed with the subject's key: gone with the subject or its tenant.
_PERSONAL_CLEARED = {"details": None, "extension_reason": None, "rejection_reason": None}


class DataRequests(Projection):
    name = "data_requests"
    # 2: received_at may be before it was entered; who entered it, and when
    # 3: since when an erasure is final in every copy of the store
    version = 3
    tables = (DATA_REQUESTS,)

    def __init__(self, sealer: ColumnSealer) -> None:
        self.sealer = sealer

    def handlers(self) -> dict[type, Handler]:
        return {
            DataRequest.Received: self._received,
            DataRequest.IdentityVerified: self._verified,
            DataRequest.Extended: self._extended,
            DataRequest.Quoted: self._quoted,
            DataRequest.QuoteAccepted: self._quote_accepted,
            DataRequest.QuoteDeclined: self._closed,
            DataRequest.Fulfilled: self._fulfilled,
            DataRequest.Rejected: self._rejected,
            DataRequest.MarkedOverdue: self._overdue,
            Subject.Erased: self._subject_erased,
            Subject.ErasureBecameFinal: self._erasure_final,
            Tenant.Purged: self._tenant_purged,
            Tenant.PurgeBecameFinal: self._purge_final,
        }

    def _seal(self, subject_id: str, request_id: str, column: str, value: Any) -> str | None:
        return self.sealer.seal(subject_id, DATA_REQUESTS.name, (request_id,), column, value)

    def _update(
        self, w: Writer, event: Any, values: Row, *, where: Row | None = None,
        add: Row | None = None,
    ) -> None:
        """Sets `values` (and `updated_at`) on the event's request, when it matches `where`."""
        w.update_where(
            DATA_REQUESTS, {"id": str(event.originator_id), **(where or {})},
            {**values, "updated_at": micros(event.timestamp)}, add=add,
        )

    def _received(self, w: Writer, event: DataRequest.Received, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        at = micros(event.timestamp)
        w.insert(DATA_REQUESTS, {
            "id": rid, "subject_id": sid,
            "tenant_id": None if event.tenant_id is None else str(event.tenant_id),
            "kind": event.kind, "channel": event.channel, "status": DataRequestStatus.RECEIVED,
            "received_at": micros(event.received_at) if event.received_at else at,
            "entered_at": at, "entered_by": event.actor, "due_at": micros(event.due_at), "overdue": 0,
            "identity_verified": 0, "extended_months": 0, "quote_amount_cents": None,
            "quote_currency": None, "delivery_sha256": None, "delivery_format": None,
            "details": self._seal(sid, rid, "details", event.details), "extension_reason": None,
            "rejection_reason": None, "closed_at": None, "updated_at": at, "position": position,
            "erasure_final_at": None,
        })

    def _verified(self, w: Writer, event: Any, position: int) -> None:
        # A request that was only received is now verified; a quoted one stays quoted.
        self._update(w, event, {"identity_verified": 1})
        self._update(
            w, event, {"status": DataRequestStatus.VERIFIED},
            where={"status": DataRequestStatus.RECEIVED},
        )

    def _extended(self, w: Writer, event: DataRequest.Extended, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        self._update(w, event, {
            "due_at": micros(event.due_at),
            "extension_reason": self._seal(sid, rid, "extension_reason", event.reason),
        }, add={"extended_months": event.months})

    def _quoted(self, w: Writer, event: DataRequest.Quoted, position: int) -> None:
        self._update(w, event, {
            "status": DataRequestStatus.QUOTED, "quote_amount_cents": event.amount_cents,
            "quote_currency": event.currency,
        })

    def _quote_accepted(self, w: Writer, event: DataRequest.QuoteAccepted, position: int) -> None:
        self._update(w, event, {
            "status": DataRequestStatus.QUOTE_ACCEPTED, "due_at": micros(event.due_at),
        })

    def _closed(self, w: Writer, event: Any, position: int) -> None:
        self._update(w, event, {
            "status": DataRequestStatus.DECLINED, "closed_at": micros(event.timestamp),
        })

    def _fulfilled(self, w: Writer, event: DataRequest.Fulfilled, position: int) -> None:
        self._update(w, event, {
            "status": DataRequestStatus.FULFILLED, "delivery_sha256": event.delivery_sha256,
            "delivery_format": event.delivery_format, "closed_at": micros(event.timestamp),
        })

    def _rejected(self, w: Writer, event: DataRequest.Rejected, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        self._update(w, event, {
            "status": DataRequestStatus.REJECTED,
            "rejection_reason": self._seal(sid, rid, "rejection_reason", event.reason),
            "closed_at": micros(event.timestamp),
        })

    def _overdue(self, w: Writer, event: Any, position: int) -> None:
        self._update(w, event, {"overdue": 1})

    def _subject_erased(self, w: Writer, event: Subject.Erased, position: int) -> None:
        w.update_where(DATA_REQUESTS, {"subject_id": str(event.originator_id)}, _PERSONAL_CLEARED)

    def _erasure_final(self, w: Writer, event: Any, position: int) -> None:
        erasures = {"subject_id": str(event.originator_id), "kind": DataRequestKind.ERASURE}
        w.update_where(DATA_REQUESTS, erasures, {"erasure_final_at": micros(event.timestamp)})

    def _purge_final(self, w: Writer, event: Any, position: int) -> None:
        # The subjects' keys went with the tenant's: their erasure requests are final too.
        erasures = {
            "tenant_id": str(event.originator_id), "kind": DataRequestKind.ERASURE,
            "erasure_final_at": None,
        }
        w.update_where(DATA_REQUESTS, erasures, {"erasure_final_at": micros(event.timestamp)})

    def _tenant_purged(self, w: Writer, event: Tenant.Purged, position: int) -> None:
        w.update_where(DATA_REQUESTS, {"tenant_id": str(event.originator_id)}, _PERSONAL_CLEARED)
