"""Subjects' requests with their deadline; the subject's erasure or the tenant's purge clears
the free-text fields, which are sealed with the subject's key."""

from __future__ import annotations

from typing import Any

from domain.data_request import DataRequest
from domain.subject import Subject
from domain.tenant import Tenant
from projections.read_models.base import Handler, Projection, Writes
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import DATA_REQUESTS, micros

_PERSONAL_CLEARED = "details = NULL, extension_reason = NULL, rejection_reason = NULL"


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

    def _update(self, w: Writes, event: Any, assignments: str, *params: Any) -> None:
        w.execute(
            f"UPDATE data_requests SET {assignments}, updated_at = %s WHERE id = %s",
            (*params, micros(event.timestamp), str(event.originator_id)),
        )

    def _received(self, w: Writes, event: DataRequest.Received, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        at = micros(event.timestamp)
        w.insert(DATA_REQUESTS, {
            "id": rid, "subject_id": sid,
            "tenant_id": None if event.tenant_id is None else str(event.tenant_id),
            "kind": event.kind, "channel": event.channel, "status": "received",
            "received_at": micros(event.received_at) if event.received_at else at,
            "entered_at": at, "entered_by": event.actor, "due_at": micros(event.due_at), "overdue": 0,
            "identity_verified": 0, "extended_months": 0, "quote_amount_cents": None,
            "quote_currency": None, "delivery_sha256": None, "delivery_format": None,
            "details": self._seal(sid, rid, "details", event.details), "extension_reason": None,
            "rejection_reason": None, "closed_at": None, "updated_at": at, "position": position,
            "erasure_final_at": None,
        })

    def _verified(self, w: Writes, event: Any, position: int) -> None:
        self._update(
            w, event,
            "identity_verified = 1, status = CASE WHEN status = 'received' THEN 'verified' "
            "ELSE status END",
        )

    def _extended(self, w: Writes, event: DataRequest.Extended, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        self._update(
            w, event,
            "extended_months = extended_months + %s, due_at = %s, extension_reason = %s",
            event.months, micros(event.due_at),
            self._seal(sid, rid, "extension_reason", event.reason),
        )

    def _quoted(self, w: Writes, event: DataRequest.Quoted, position: int) -> None:
        self._update(
            w, event, "status = 'quoted', quote_amount_cents = %s, quote_currency = %s",
            event.amount_cents, event.currency,
        )

    def _quote_accepted(self, w: Writes, event: DataRequest.QuoteAccepted, position: int) -> None:
        self._update(w, event, "status = 'quote_accepted', due_at = %s", micros(event.due_at))

    def _closed(self, w: Writes, event: Any, position: int) -> None:
        self._update(w, event, "status = 'declined', closed_at = %s", micros(event.timestamp))

    def _fulfilled(self, w: Writes, event: DataRequest.Fulfilled, position: int) -> None:
        self._update(
            w, event,
            "status = 'fulfilled', delivery_sha256 = %s, delivery_format = %s, closed_at = %s",
            event.delivery_sha256, event.delivery_format, micros(event.timestamp),
        )

    def _rejected(self, w: Writes, event: DataRequest.Rejected, position: int) -> None:
        rid, sid = str(event.originator_id), str(event.subject_id)
        self._update(
            w, event, "status = 'rejected', rejection_reason = %s, closed_at = %s",
            self._seal(sid, rid, "rejection_reason", event.reason), micros(event.timestamp),
        )

    def _overdue(self, w: Writes, event: Any, position: int) -> None:
        self._update(w, event, "overdue = 1")

    def _subject_erased(self, w: Writes, event: Subject.Erased, position: int) -> None:
        w.execute(
            f"UPDATE data_requests SET {_PERSONAL_CLEARED} WHERE subject_id = %s",
            (str(event.originator_id),),
        )

    def _erasure_final(self, w: Writes, event: Any, position: int) -> None:
        w.execute(
            "UPDATE data_requests SET erasure_final_at = %s WHERE subject_id = %s "
            "AND kind = 'erasure'",
            (micros(event.timestamp), str(event.originator_id)),
        )

    def _purge_final(self, w: Writes, event: Any, position: int) -> None:
        # The subjects' keys went with the tenant's: their erasure requests are final too.
        w.execute(
            "UPDATE data_requests SET erasure_final_at = %s WHERE tenant_id = %s "
            "AND kind = 'erasure' AND erasure_final_at IS NULL",
            (micros(event.timestamp), str(event.originator_id)),
        )

    def _tenant_purged(self, w: Writes, event: Tenant.Purged, position: int) -> None:
        w.execute(
            f"UPDATE data_requests SET {_PERSONAL_CLEARED} WHERE tenant_id = %s",
            (str(event.originator_id),),
        )
