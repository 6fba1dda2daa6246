"""Incidents (one, or a page, seen by the vendor or by one affected customer) and a tenant's
disclosures."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from domain.deadlines import is_past
from projections.read_models.queries.base import Queries
from projections.read_models.queries.paging import DEFAULT_LIMIT, Page, keyset_page
from projections.read_models.tables import moment

_COLUMNS = (
    "id, title, description, severity, aware_at, authority_due_at, authority_notified_at, "
    "authority_reference, overdue, reported_at, actor, position"
)


class IncidentQueries(Queries):
    def incident(
        self, incident_id: UUID | str, tenant_id: UUID | str | None = None
    ) -> dict[str, Any] | None:
        """With `tenant_id` (a customer's view): None unless that tenant is affected, and the
        other affected tenants are left out."""
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM incidents WHERE id = %s", (str(incident_id),)
        )
        if row is None:
            return None
        item = self._incident_item(row, tenant_id)
        if tenant_id is not None and not item["tenant_ids"]:
            return None
        return item

    def incidents(
        self, *, tenant_id: UUID | str | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first; with `tenant_id`, only those affecting it, seen as that customer."""
        where: list[str] = []
        params: list[Any] = []
        if tenant_id is not None:
            where.append(
                "id IN (SELECT incident_id FROM incident_tenants WHERE tenant_id = %s)"
            )
            params.append(str(tenant_id))
        return keyset_page(
            self.db, _COLUMNS, "incidents", where, params, after, limit,
            order=("position",), descending=True,
            item=lambda row: self._incident_item(row, tenant_id),
        )

    def _incident_item(
        self, row: tuple[Any, ...], tenant_id: UUID | str | None
    ) -> dict[str, Any]:
        (iid, title, description, severity, aware_at, due_at, notified_at, reference, flagged,
         reported_at, actor, position) = row
        affected = self.db.fetchall(
            "SELECT tenant_id, notified_at, notified_by, notice_message_id FROM incident_tenants "
            "WHERE incident_id = %s ORDER BY tenant_id",
            (iid,),
        )
        if tenant_id is not None:
            affected = [row for row in affected if row[0] == str(tenant_id)]
        # Late is late: notified after the 72 hours, or not yet notified and past them.
        told_or_now = moment(notified_at) if notified_at is not None else self.clock.now()
        overdue = bool(flagged) or is_past(moment(due_at), told_or_now)
        return {
            "id": iid, "title": title, "description": description, "severity": severity,
            "aware_at": moment(aware_at), "authority_due_at": moment(due_at),
            "authority_notified_at": moment(notified_at), "authority_reference": reference,
            "overdue": overdue, "reported_at": moment(reported_at), "reported_by": actor,
            "tenant_ids": [t for t, *_ in affected],
            "customers_notified": {t: moment(at) for t, at, *_ in affected if at is not None},
            "customer_notices": [
                {"tenant_id": t, "at": moment(at), "by": by, "message_id": message_id}
                for t, at, by, message_id in affected if at is not None
            ],
            "position": position,
        }

    def disclosures(
        self, tenant_id: UUID | str, *, after: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page:
        """Newest first."""
        return keyset_page(
            self.db,
            "id, tenant_id, recipient, legal_basis, reference, subject_ids, at, actor, position",
            "disclosures", ["tenant_id = %s"], [str(tenant_id)], after, limit,
            order=("position",), descending=True,
            item=lambda row: {
                "id": row[0], "tenant_id": row[1], "recipient": row[2], "legal_basis": row[3],
                "reference": row[4], "subject_ids": json.loads(row[5]), "at": moment(row[6]),
                "actor": row[7], "position": row[8],
            },
        )
