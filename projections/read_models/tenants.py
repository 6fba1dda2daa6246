"""Tenants: status, `purge_after`, current location and every move; the sealed name goes at
purge."""

from __future__ import annotations

from domain.tenant import Tenant
from domain.vocabulary import TenantStatus
from projections.read_models.base import Handler, Projection, Writer
from projections.read_models.sealed_columns import ColumnSealer
from projections.read_models.tables import TENANT_LOCATIONS, TENANTS, micros


class Tenants(Projection):
    name = "tenants"
    # 2: each tenant's tenancy (how many times it was terminated)
    # 3: since when its purge is final in every copy of the store
    version = 3
    tables = (TENANTS, TENANT_LOCATIONS)

    def __init__(self, sealer: ColumnSealer) -> None:
        self.sealer = sealer

    def handlers(self) -> dict[type, Handler]:
        return {
            Tenant.Created: self._created,
            Tenant.Terminated: self._terminated,
            Tenant.Reactivated: self._reactivated,
            Tenant.Purged: self._purged,
            Tenant.PurgeBecameFinal: self._purge_final,
            Tenant.LocationMoved: self._moved,
        }

    def _created(self, w: Writer, event: Tenant.Created, position: int) -> None:
        tid = str(event.originator_id)
        at = micros(event.timestamp)
        w.insert(TENANTS, {
            "id": tid, "name": self.sealer.seal(tid, TENANTS.name, (tid,), "name", event.name),
            "status": TenantStatus.ACTIVE, "location": event.location, "purge_after": None,
            "created_at": at, "updated_at": at, "position": position, "tenancy": 0,
            "purge_final_at": None,
        })
        self._located(w, tid, position, event.location, at, None, event.actor)

    def _terminated(self, w: Writer, event: Tenant.Terminated, position: int) -> None:
        # A termination ends a tenancy (domain/tenant.py): the count goes up by one.
        w.update_where(TENANTS, {"id": str(event.originator_id)}, {
            "status": TenantStatus.TERMINATED, "purge_after": micros(event.purge_after),
            "updated_at": micros(event.timestamp),
        }, add={"tenancy": 1})

    def _reactivated(self, w: Writer, event: Tenant.Reactivated, position: int) -> None:
        w.update(TENANTS, (str(event.originator_id),), {
            "status": TenantStatus.ACTIVE, "purge_after": None,
            "updated_at": micros(event.timestamp),
        })

    def _purged(self, w: Writer, event: Tenant.Purged, position: int) -> None:
        w.update(TENANTS, (str(event.originator_id),), {
            "status": TenantStatus.PURGED, "name": None, "updated_at": micros(event.timestamp),
        })

    def _purge_final(self, w: Writer, event: Tenant.PurgeBecameFinal, position: int) -> None:
        w.update(TENANTS, (str(event.originator_id),), {
            "purge_final_at": micros(event.timestamp), "updated_at": micros(event.timestamp),
        })

    def _moved(self, w: Writer, event: Tenant.LocationMoved, position: int) -> None:
        tid = str(event.originator_id)
        at = micros(event.timestamp)
        w.update(TENANTS, (tid,), {"location": event.to_location, "updated_at": at})
        self._located(w, tid, position, event.to_location, at, event.reason, event.actor)

    def _located(
        self, w: Writer, tid: str, position: int, location: str, at: int | None,
        reason: str | None, actor: str,
    ) -> None:
        w.insert(TENANT_LOCATIONS, {
            "tenant_id": tid, "position": position, "location": location, "since": at,
            "reason": reason, "actor": actor,
        })
