"""Tenants: one with its every location, or a page of them by status."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.personal import ERASED
from domain.vocabulary import TenantStatus
from projections.read_models.queries.base import Queries, filters
from projections.read_models.queries.paging import DEFAULT_LIMIT, Page, keyset_page
from projections.read_models.tables import moment

_COLUMNS = "id, name, status, location, purge_after, created_at, updated_at, purge_final_at"


class TenantQueries(Queries):
    def tenant(self, tenant_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM tenants WHERE id = %s", (str(tenant_id),))
        if row is None:
            return None
        item = self._tenant_item(row)
        item["locations"] = [
            {"location": location, "since": moment(since), "reason": reason, "actor": actor}
            for location, since, reason, actor in self.db.fetchall(
                "SELECT location, since, reason, actor FROM tenant_locations "
                "WHERE tenant_id = %s ORDER BY position",
                (item["id"],),
            )
        ]
        return item

    def tenants(
        self, *, status: str | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first."""
        where, params = filters(("status", status))
        return keyset_page(
            self.db, _COLUMNS, "tenants", where, params, after, limit, order=("position",),
            descending=True, item=self._tenant_item,
        )

    def _tenant_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        tid, sealed, status, location, purge_after, created_at, updated_at, final_at = row
        name = ERASED if status == TenantStatus.PURGED else self.sealer.open(
            tid, "tenants", (tid,), "name", sealed
        )
        return {
            "id": tid, "name": name, "status": status, "location": location,
            "purge_after": moment(purge_after), "created_at": moment(created_at),
            "updated_at": moment(updated_at), "purge_final_at": moment(final_at),
        }
