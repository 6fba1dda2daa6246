"""Tenants: status, `purge_after`, current location and every move; the sealed name goes at
purge."""

from __future__ import annotations

from domain.tenant import Tenant
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.sealed_columns import ColumnSealer
from projections.tables import TENANT_LOCATIONS, TENANTS, micros


class Tenants(Projection):
    name = "tenants"
    tables = (TENANTS, TENANT_LOCATIONS)

    def __init__(self, sealer: ColumnSealer) -> None:
        self.sealer = sealer

    def handlers(self) -> dict[type, Handler]:
        return {
            Tenant.Created: self._created,
            Tenant.Terminated: self._terminated,
            Tenant.Reactivated: self._reactivated,
            Tenant.Purged: self._purged,
            Tenant.LocationMoved: self._moved,
        }

    def _created(self, cur: Cursor, event: Tenant.Created, position: int) -> None:
        tid = str(event.originator_id)
        at = micros(event.timestamp)
        name = self.sealer.seal(tid, TENANTS.name, (tid,), "name", event.name)
        cur.execute(
            "INSERT INTO tenants (id, name, status, location, purge_after, created_at, "
            "updated_at, position) VALUES (%s, %s, 'active', %s, NULL, %s, %s, %s)",
            (tid, name, event.location, at, at, position),
        )
        cur.execute(
            "INSERT INTO tenant_locations (tenant_id, position, location, since, reason, actor) "
            "VALUES (%s, %s, %s, %s, NULL, %s)",
            (tid, position, event.location, at, event.actor),
        )

    def _terminated(self, cur: Cursor, event: Tenant.Terminated, position: int) -> None:
        cur.execute(
            "UPDATE tenants SET status = 'terminated', purge_after = %s, updated_at = %s "
            "WHERE id = %s",
            (micros(event.purge_after), micros(event.timestamp), str(event.originator_id)),
        )

    def _reactivated(self, cur: Cursor, event: Tenant.Reactivated, position: int) -> None:
        cur.execute(
            "UPDATE tenants SET status = 'active', purge_after = NULL, updated_at = %s "
            "WHERE id = %s",
            (micros(event.timestamp), str(event.originator_id)),
        )

    def _purged(self, cur: Cursor, event: Tenant.Purged, position: int) -> None:
        cur.execute(
            "UPDATE tenants SET status = 'purged', name = NULL, updated_at = %s WHERE id = %s",
            (micros(event.timestamp), str(event.originator_id)),
        )

    def _moved(self, cur: Cursor, event: Tenant.LocationMoved, position: int) -> None:
        tid = str(event.originator_id)
        at = micros(event.timestamp)
        cur.execute(
            "UPDATE tenants SET location = %s, updated_at = %s WHERE id = %s",
            (event.to_location, at, tid),
        )
        cur.execute(
            "INSERT INTO tenant_locations (tenant_id, position, location, since, reason, actor) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (tid, position, event.to_location, at, event.reason, event.actor),
        )
