"""Subjects' requests: one with its free-text fields opened and its propagation to the vendor's
systems, or a page of them, soonest due first, with whether each is overdue now and which
systems each open one still waits for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.deadlines import overdue_before
from domain.propagation import SETTLED, PropagationStatus
from domain.vocabulary import DATA_REQUEST_CLOSED
from projections.read_models.data_requests import DATA_REQUEST_PROPAGATION
from projections.read_models.queries.base import Queries, filters
from projections.read_models.queries.paging import DEFAULT_LIMIT, Page, keyset_page
from projections.read_models.tables import micros, moment
from projections.storage.tables import ensure_tables_once

_COLUMNS = (
    "id, subject_id, tenant_id, kind, channel, status, received_at, due_at, overdue, "
    "identity_verified, extended_months, quote_amount_cents, quote_currency, "
    "delivery_sha256, delivery_format, closed_at, updated_at, position, entered_at, "
    "entered_by, erasure_final_at"
)
_SEALED = ("details", "extension_reason", "rejection_reason")
_WITH_REASON = (PropagationStatus.FAILED, PropagationStatus.WAIVED)
# Still open and past its due time, or marked so (domain/deadlines.py `is_past`): in SQL, with
# the closed statuses and the cut-off as parameters.
_OVERDUE = (
    f"(status NOT IN ({', '.join(['%s'] * len(DATA_REQUEST_CLOSED))}) "
    "AND (overdue = 1 OR due_at < %s))"
)


class DataRequestQueries(Queries):
    def data_request(self, request_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS}, {', '.join(_SEALED)} FROM data_requests WHERE id = %s",
            (str(request_id),),
        )
        if row is None:
            return None
        item = self._data_request_item(row[:-len(_SEALED)])
        for column, sealed in zip(_SEALED, row[-len(_SEALED):]):
            item[column] = self.sealer.open(
                item["subject_id"], "data_requests", (item["id"],), column, sealed
            )
        item["propagation"] = self._propagation([item["id"]]).get(item["id"], [])
        item["waiting_for"] = _waiting_for(item, item["propagation"])
        return item

    def data_requests(
        self, *, status: str | None = None, overdue: bool | None = None,
        subject_id: UUID | str | None = None, tenant_id: UUID | str | None = None,
        after: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Soonest due first. Overdue means still open and past its due time (or marked so)."""
        where, params = filters(
            ("status", status), ("subject_id", subject_id), ("tenant_id", tenant_id)
        )
        if overdue is not None:
            where.append(_OVERDUE if overdue else f"NOT {_OVERDUE}")
            params += [*DATA_REQUEST_CLOSED, micros(overdue_before(self.clock.now()))]
        page = keyset_page(
            self.db, _COLUMNS, "data_requests", where, params, after, limit,
            order=("due_at", "position"), descending=False, item=self._data_request_item,
        )
        open_ids = [i["id"] for i in page["items"] if i["status"] not in DATA_REQUEST_CLOSED]
        told = self._propagation(open_ids, opened=False)
        for item in page["items"]:
            item["waiting_for"] = _waiting_for(item, told.get(item["id"], []))
        return page

    def _propagation(
        self, request_ids: list[str], opened: bool = True
    ) -> dict[str, list[dict[str, Any]]]:
        """Each request's systems in the order they were told; their reasons opened (or, for
        a list, not read at all)."""
        if not request_ids:
            return {}
        ensure_tables_once(self.db, (DATA_REQUEST_PROPAGATION,))
        marks = ", ".join(["%s"] * len(request_ids))
        rows = self.db.fetchall(
            "SELECT request_id, system_id, subject_id, name, status, at, reason FROM "
            f"{DATA_REQUEST_PROPAGATION.name} WHERE request_id IN ({marks}) "
            "ORDER BY request_id, ordinal", request_ids,
        )
        found: dict[str, list[dict[str, Any]]] = {}
        for request_id, system_id, subject_id, name, status, at, sealed in rows:
            reason = None
            if opened and status in _WITH_REASON:  # "[erased]" once the key is gone
                reason = self.sealer.open(
                    subject_id, DATA_REQUEST_PROPAGATION.name, (request_id, system_id),
                    "reason", sealed,
                )
            found.setdefault(request_id, []).append({
                "system_id": system_id, "name": name, "status": status, "at": moment(at),
                "reason": reason,
            })
        return found

    def _data_request_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (rid, subject_id, tenant_id, kind, channel, status, received_at, due_at, overdue,
         verified, extended, amount, currency, sha256, fmt, closed_at, updated_at,
         position, entered_at, entered_by, erasure_final_at) = row
        is_open = status not in DATA_REQUEST_CLOSED
        cut_off = micros(overdue_before(self.clock.now()))
        return {
            "id": rid, "subject_id": subject_id, "tenant_id": tenant_id, "kind": kind,
            "channel": channel, "status": status, "received_at": moment(received_at),
            "due_at": moment(due_at),
            "overdue": is_open and (bool(overdue) or due_at < cut_off),
            "identity_verified": bool(verified), "extended_months": extended,
            "quote": None if amount is None else {"amount_cents": amount, "currency": currency},
            "delivery_sha256": sha256, "delivery_format": fmt, "closed_at": moment(closed_at),
            "updated_at": moment(updated_at), "position": position,
            "entered_at": moment(entered_at), "entered_by": entered_by,
            "erasure_final_at": moment(erasure_final_at),
        }


def _waiting_for(item: dict[str, Any], told: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The systems an open request still waits for; a closed one waits for nothing."""
    if item["status"] in DATA_REQUEST_CLOSED:
        return []
    return [
        {k: system[k] for k in ("system_id", "name", "status")}
        for system in told if system["status"] not in SETTLED
    ]
