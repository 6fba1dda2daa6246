"""What a customer may still read of its own tenant once it is terminated: the tenant, its access
log and its incidents (domain/tenant.py `ensure_customer_may_read`); anything else is 409
naming the termination. Other roles are not concerned here."""

from __future__ import annotations

from api.http.auth import Caller, Role
from domain.tenant import ACTIVE, ensure_customer_may_read
from projections.read_models.queries.contract import ReadSide


def ensure_readable_by_customer(caller: Caller, read: ReadSide, what: str) -> None:
    if caller.role is not Role.CUSTOMER or caller.tenant is None:
        return
    tenant = read.tenant(caller.tenant)
    ensure_customer_may_read(ACTIVE if tenant is None else tenant["status"], what)
