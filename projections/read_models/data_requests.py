"""Subjects' requests with their deadline, and where each request's propagation to the vendor's
systems stands (one row per system told); the subject's erasure or the tenant's purge clears
the free-text fields (a rejection's, an extension's, a failure's or a waiver's reason), which
are sealed with the subject's key."""

from __future__ import annotations

from typing import Any

from domain.data_request import DataRequest
from domain.propagation import PropagationStatus
from domain.subject import Subject
from domain.tenant import Tenant
from domain.vocabulary import DataRequestKind
from domain.vocabulary import DataRequestStatus
from projections.read_models.base import Among, Handler, Projection, Row, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import DATA_REQUESTS, micros
from projections.storage.tables import Table

# The free-text fields, sealed with the subject's key: gone with the subject or its tenant.
_PERSONAL_CLEARED = {"details": None, "extension_reason": None, "rejection_reason": None}

# Each system a request's propagation told, in the order told (`ordinal`), and its answer.
DATA_REQUEST_PROPAGATION = Table(
    "data_request_propagation",
    "request_id TEXT NOT NULL, system_id TEXT NOT NULL, ordinal INTEGER NOT NULL, "
    "subject_id TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, "
    "at {big_int} NOT NULL, reason TEXT, position {big_int} NOT NULL",
    key=("request_id", "system_id"),
    indexes=("data_request_propagation_by_subject ON data_request_propagation (subject_id)",),
    sealed={"reason": "subject_id"},
)


class DataRequests(Projection):
    name = "data_requests"
    # 2: received_at may be before it was entered; who entered it, and when
    # 3: since when an erasure is final in every copy of the store
    # 4: propagation to the vendor's systems
    version = 4
    tables = (DATA_REQUESTS, DATA_REQUEST_PROPAGATION)

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
            DataRequest.PropagationStarted: self._propagation_started,
            DataRequest.PropagationConfirmed: self._propagation_confirmed,
            DataRequest.PropagationFailed: self._propagation_failed,
            DataRequest.PropagationWaived: self._propagation_waived,
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

    def _propagation_started(
        self, w: Writer, event: DataRequest.PropagationStarted, position: int
    ) -> None:
        for ordinal, (system_id, name) in enumerate(zip(event.systems, event.system_names)):
            w.insert(DATA_REQUEST_PROPAGATION, {
                "request_id": str(event.originator_id), "system_id": str(system_id),
                "ordinal": ordinal, "subject_id": str(event.subject_id), "name": name,
                "status": PropagationStatus.PENDING, "at": micros(event.timestamp),
                "reason": None, "position": position,
            })

    def _answered(
        self, w: Writer, event: Any, position: int, system_id: Any, status: str,
        reason: str | None = None, subject_id: Any = None,
    ) -> None:
        key = (str(event.originator_id), str(system_id))
        sealed = None if reason is None else self.sealer.seal(
            str(subject_id), DATA_REQUEST_PROPAGATION.name, key, "reason", reason
        )
        w.update(DATA_REQUEST_PROPAGATION, key, {
            "status": status, "at": micros(event.timestamp), "reason": sealed,
            "position": position,
        })

    def _propagation_confirmed(self, w: Writer, event: Any, position: int) -> None:
        self._answered(w, event, position, event.system_id, PropagationStatus.CONFIRMED)

    def _propagation_failed(self, w: Writer, event: Any, position: int) -> None:
        self._answered(
            w, event, position, event.system_id, PropagationStatus.FAILED, event.reason,
            event.subject_id,
        )

    def _propagation_waived(self, w: Writer, event: Any, position: int) -> None:
        for system_id in event.systems:
            self._answered(
                w, event, position, system_id, PropagationStatus.WAIVED, event.reason,
                event.subject_id,
            )

    def _subject_erased(self, w: Writer, event: Subject.Erased, position: int) -> None:
        w.update_where(DATA_REQUESTS, {"subject_id": str(event.originator_id)}, _PERSONAL_CLEARED)
        w.update_where(
            DATA_REQUEST_PROPAGATION, {"subject_id": str(event.originator_id)}, {"reason": None}
        )

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
        of_tenant = Among(DATA_REQUESTS, "id", {"tenant_id": str(event.originator_id)})
        w.update_where(DATA_REQUEST_PROPAGATION, {"request_id": of_tenant}, {"reason": None})
