"""The vendor's systems that hold personal data, registered by an officer: each hears the consent
changes, erasures and rectifications that concern it through a webhook subscription of its own,
and confirms them (api/routers/propagations.py). Retiring one disables its subscription."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter

from api.http.deps import ContainerDep, CurrentLedgerDep, LedgerDep, Officer, SettingsDep
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import documented, field_problem
from api.http.secret_answers import SecretShownOnce
from api.notifications.targets import refusal
from api.schemas.propagation import SystemCreate, SystemOut, SystemRegistered
from api.services.visibility import not_found
from domain.notifications import PROPAGATION_NOTICES
from domain.propagation import DownstreamSystem
from projections.outbox.systems import ActorTaken, RegisteredSystem

router = APIRouter(
    prefix="/v1/systems", tags=["propagation to the vendor's systems"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)


def system_view(registered: RegisteredSystem) -> dict[str, Any]:
    system = registered.system
    return {
        "id": system.id, "name": system.name, "url": registered.url, "actor": registered.actor,
        "purposes": sorted(system.purposes), "kinds": sorted(system.kinds),
        "status": registered.status, "subscription_id": registered.subscription_id,
        "created_at": registered.created_at, "created_by": registered.created_by,
        "retired_at": registered.retired_at,
    }


@router.post("", status_code=201, dependencies=SecretShownOnce, responses=documented(409))
def register_system(
    body: SystemCreate, caller: Officer, ledger: LedgerDep, container: ContainerDep,
    settings: SettingsDep,
) -> SystemRegistered:
    """Register a system that holds personal data. From now on it is told (signed webhooks)
    of the consent changes of its purposes and of the erasure and rectification requests of
    its kinds verified from now on, and confirms each with a system token whose `sub` is
    `actor`. The webhook's signing secret is in this answer only."""
    refused = refusal(body.url, settings.webhook_allowed_hosts)
    if refused is not None:
        raise field_problem("url", refused)
    systems = container.systems()
    taken = systems.by_actor(body.actor)
    if taken is not None:
        raise ActorTaken(body.actor, taken)
    # Checked before a subscription is made for it, which names its id.
    system = DownstreamSystem.define(uuid4(), body.name, body.purposes, body.kinds)
    subscriptions = container.subscriptions()
    subscription, secret = subscriptions.create(
        url=body.url, types=[t.value for t in PROPAGATION_NOTICES], system_id=system.id,
        actor=caller.actor, now=ledger.now(), head=ledger.recorder.max_notification_id() or 0,
        description=f"the system {system.name}",
    )
    try:
        registered = systems.register(
            name=system.name, url=body.url, actor=body.actor, purposes=system.purposes,
            kinds=system.kinds, subscription_id=subscription.id, created_by=caller.actor,
            now=ledger.now(), system_id=system.id,
        )
    except BaseException:
        subscriptions.delete(subscription.id)  # no subscription without its system
        raise
    return SystemRegistered(**system_view(registered), secret=secret)


# The GETs take the ledger only to accept `min_position`, as every GET does.
@router.get("")
def list_systems(
    caller: Officer, container: ContainerDep, page: PagingDep, ledger: CurrentLedgerDep
) -> Page[SystemOut]:
    """Every registered system, retired ones too, in the order registered."""

    def fetch() -> Any:
        found, after = container.systems().page(page.after, page.limit)
        return {"items": [system_view(s) for s in found], "next": after}

    return Page[SystemOut].model_validate(fetch_page(page, fetch))


@router.get("/{system_id}")
def get_system(
    system_id: UUID, caller: Officer, container: ContainerDep, ledger: CurrentLedgerDep
) -> SystemOut:
    found = container.systems().get(system_id)
    if found is None:
        raise not_found("system", system_id)
    return SystemOut.model_validate(system_view(found))


@router.delete("/{system_id}")
def retire_system(
    system_id: UUID, caller: Officer, ledger: LedgerDep, container: ContainerDep
) -> SystemOut:
    """Retire a system: it hears nothing more and confirms nothing more. A request still
    waiting for it is fulfilled once an officer waives its propagation with a reason.
    Retiring a retired system changes nothing."""
    found = container.systems().retire(system_id, ledger.now())
    if found is None:
        raise not_found("system", system_id)
    if found.subscription_id is not None:
        container.subscriptions().disable(found.subscription_id, "the system was retired")
    return SystemOut.model_validate(system_view(found))
