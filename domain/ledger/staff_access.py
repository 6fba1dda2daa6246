"""The Ledger's staff-access commands: a request for a tenant's data, the tenant's decision,
each use under the grant, and what time and the tenant's termination end."""

from __future__ import annotations

from uuid import UUID

from domain.access import AccessRequest
from domain.errors import AccessRefused
from domain.ledger.base import LedgerBase, Outcome


class StaffAccessCommands(LedgerBase):
    def request_access(
        self, tenant_id: UUID, requester: str, scope: str, resources: list[str],
        reason: str, ticket: str | None = None, duration_minutes: int | None = None,
    ) -> Outcome:
        request = AccessRequest.ask(
            self.tenant(tenant_id), requester, scope, resources, reason, ticket,
            duration_minutes, self.now(), self.policy,
        )
        return Outcome(request, self._save(request))

    def approve_access(
        self, request_id: UUID, approver: str, duration_minutes: int | None = None,
        scope: str | None = None, resources: list[str] | None = None,
    ) -> Outcome:
        def approve(request: AccessRequest) -> None:
            request.approve(
                approver, self.tenant(request.tenant_id), self.now(),
                duration_minutes=duration_minutes, scope=scope, resources=resources,
            )

        return self._change(request_id, AccessRequest, approve)

    def deny_access(self, request_id: UUID, actor: str, reason: str) -> Outcome:
        return self._change(
            request_id, AccessRequest, lambda r: r.deny(actor, reason, self.now())
        )

    def revoke_access(self, request_id: UUID, actor: str, reason: str) -> Outcome:
        return self._change(
            request_id, AccessRequest, lambda r: r.revoke(actor, reason, self.now())
        )

    def use_access(
        self, request_id: UUID, actor: str, resource: str, action: str
    ) -> Outcome:
        """Records the access, or records the refusal and then raises AccessRefused."""
        refusal: list[str | None] = []

        def use(request: AccessRequest) -> None:
            refusal[:] = [
                request.use(actor, resource, action, self.tenant(request.tenant_id), self.now())
            ]

        outcome = self._change(request_id, AccessRequest, use)
        if refusal[0] is not None:
            raise AccessRefused(refusal[0], outcome.position)
        return outcome

    # What time and the tenant's termination end; None when nothing was due (the sweep's)
    def expire_access_request(self, request_id: UUID) -> Outcome | None:
        return self._change_if_due(
            request_id, AccessRequest, lambda r: r.expire_if_due(self.now())
        )

    def end_access_with_tenancy(self, request_id: UUID, actor: str) -> Outcome | None:
        """Ends the request if its tenant's termination ended its tenancy; None if not."""
        return self._change_if_due(
            request_id, AccessRequest,
            lambda r: r.end_with_tenancy(self.tenant(r.tenant_id), actor, self.now()),
        )

    def end_grant(self, request_id: UUID) -> Outcome | None:
        return self._change_if_due(
            request_id, AccessRequest, lambda r: r.end_grant_if_due(self.now())
        )
