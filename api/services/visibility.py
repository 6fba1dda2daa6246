"""Who sees what of which tenant, written once for the HTTP routers and the customer portal.

- A customer sees its own tenant's things only. Another tenant's anything is "not found", never
  "forbidden", worded as the domain's own NotFound: a customer cannot even learn that it exists.
- Staff see the access requests they made themselves, and no one else's (not found either).
- While its tenant is closed (terminated, or purged), a customer still reads the tenant, its
  access log and its incidents (domain/tenant.py `ensure_customer_may_read`); anything else is
  409 naming the termination.
- Officers, auditors and the vendor's systems see every tenant's things: which of them may call
  a route at all is the route's role check (api/http/deps.py).
"""

from __future__ import annotations

from uuid import UUID

from api.http.auth import Caller, Role
from domain.errors import NotFound
from domain.tenant import ensure_customer_may_read
from domain.vocabulary import TenantStatus
from projections.read_models.queries.contract import ReadSide


def not_found(what: str, ident: object) -> NotFound:
    return NotFound(f"no {what} with id {ident}")


def tenant_in_view(caller: Caller) -> UUID | None:
    """The one tenant a caller's lists are limited to: a customer's own; None (every tenant)
    for everyone else."""
    return caller.tenant if caller.role is Role.CUSTOMER else None


def requester_in_view(caller: Caller) -> str | None:
    """The one requester whose access requests a caller's lists show: staff see their own;
    None (every requester) for everyone else."""
    return caller.actor if caller.role is Role.STAFF else None


def ensure_own_tenant(caller: Caller, owner_tenant_id: object, what: str, ident: object) -> None:
    """A thing of `owner_tenant_id`, named `what` `ident` in the answer, is not found for a
    customer of another tenant."""
    if caller.role is Role.CUSTOMER and str(owner_tenant_id) != str(caller.tenant):
        raise not_found(what, ident)


def ensure_request_visible(
    caller: Caller, request_id: object, tenant_id: object, requester: str
) -> None:
    """An access request of `tenant_id` made by `requester`: its tenant's customers see it,
    and of the staff only the requester."""
    ensure_own_tenant(caller, tenant_id, "access request", request_id)
    if caller.role is Role.STAFF and requester != caller.actor:
        raise not_found("access request", request_id)


def closed_status(read: ReadSide, tenant_id: UUID) -> str | None:
    """The tenant's status while it is closed (terminated or purged); None while it is active
    or unknown."""
    tenant = read.tenant(tenant_id)
    status = None if tenant is None else tenant["status"]
    return None if status in (None, TenantStatus.ACTIVE) else status


def ensure_readable_by_customer(caller: Caller, read: ReadSide, what: str) -> None:
    """`what` (plural: "subjects") while the customer's tenant is closed: 409, naming the
    termination. Other roles are not concerned here."""
    if caller.role is not Role.CUSTOMER or caller.tenant is None:
        return
    ensure_customer_may_read(closed_status(read, caller.tenant) or TenantStatus.ACTIVE, what)
