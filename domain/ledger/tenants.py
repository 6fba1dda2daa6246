"""The Ledger's tenant commands: open, terminate, reactivate, purge, move its data."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.ledger.base import LedgerBase, Outcome
from domain.tenant import Tenant


class TenantCommands(LedgerBase):
    def open_tenant(self, name: str, actor: str, location: str | None = None) -> Outcome:
        tenant = Tenant.open(name, location, actor, self.now())
        self.keys.create(tenant.id, tenant_id=tenant.id)
        return Outcome(tenant, self._save(tenant))

    def terminate_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        return self._change(tenant_id, Tenant, lambda t: t.terminate(actor, self.now()))

    def reactivate_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        return self._change(tenant_id, Tenant, lambda t: t.reactivate(actor, self.now()))

    def purge_tenant(self, tenant_id: UUID, actor: str) -> Outcome:
        """After the grace period the keys of the tenant and of all its subjects are destroyed,
        which makes every personal field unreadable at once, then the purge event is written.

        Keys first, as with erasure: should the event fail to be written, the tenant is still
        terminated, a retry passes the rules again and writes it; the other way round a
        failure would leave a purged tenant whose keys nobody would ever shred."""
        self.tenant(tenant_id).purge(actor, self.now())  # the rules, before anything is lost
        self.keys.shred_tenant(tenant_id)
        self.recent_subjects.forget_where(lambda s: s.tenant_id == tenant_id)
        return self._change(tenant_id, Tenant, lambda t: t.purge(actor, self.now()))

    def record_purge_final(
        self, tenant_id: UUID, at: datetime, last_key_epoch: int
    ) -> Outcome | None:
        return self._change_if_due(
            tenant_id, Tenant, lambda t: t.record_purge_final(at, last_key_epoch)
        )

    def move_tenant_location(
        self, tenant_id: UUID, location: str, reason: str | None, actor: str
    ) -> Outcome:
        return self._change(
            tenant_id, Tenant, lambda t: t.move_location(location, reason, actor, self.now())
        )
