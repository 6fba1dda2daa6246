"""A registered system's answers to what it was told: it confirms a consent change, an erasure or
a rectification (an event in the ledger), or reports that it could not apply a request.

A propagation's id is the `webhook-id` of the delivery that carried it (the payload's
`propagation_id`, and `confirm_url` names this route). A system sees only its own propagations:
another system's, an unknown id, or a delivery that is no propagation is a 404 alike. Confirming
twice records nothing the second time and answers the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path

from api.container import Container
from api.http.auth import Caller, Role
from api.http.deps import ContainerDep, CurrentLedgerDep, LedgerDep, OfficerOrSystem, System
from api.http.idempotency import IdempotentRoute
from api.http.problems import ProblemException, documented
from api.schemas.propagation import FailureReport, PropagationChanged, PropagationOut
from domain.errors import NotFound
from domain.ledger import Ledger, Outcome
from domain.notifications import PROPAGATION_NOTICES, NoticeType
from domain.propagation import PropagationStatus
from projections.outbox.deliveries import Delivery
from projections.outbox.systems import RegisteredSystem

router = APIRouter(
    prefix="/v1/propagations", tags=["propagation to the vendor's systems"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)
PropagationId = Annotated[
    str, Path(max_length=100, description="the webhook-id of the delivery that carried it")
]
_PROPAGATION_TYPES = frozenset(t.value for t in PROPAGATION_NOTICES)


@dataclass(frozen=True)
class Found:
    delivery: Delivery
    system: RegisteredSystem
    about: UUID  # the subject (a consent change) or the subject's request

    @property
    def is_consent(self) -> bool:
        return self.delivery.type == NoticeType.CONSENT_CHANGED


def _propagation(container: Container, propagation_id: str, caller: Caller) -> Found:
    """The delivery, the system it went to and what it is about, if the caller may see it;
    else NotFound."""
    unknown = NotFound(f"no propagation with id {propagation_id}")
    delivery = container.deliveries().get(propagation_id)
    if delivery is None or delivery.type not in _PROPAGATION_TYPES:
        raise unknown
    try:
        about = UUID(delivery.about_id or "")
    except ValueError:
        raise unknown from None
    subscription = (
        container.subscriptions().get(delivery.subscription_id)
        if delivery.subscription_id is not None else None
    )
    system = (
        container.systems().get(subscription.system_id)
        if subscription is not None and subscription.system_id is not None else None
    )
    if system is None:
        raise unknown
    if caller.role is Role.SYSTEM:
        own = container.systems().by_actor(caller.actor)
        if own is None or own.id != system.id:
            raise unknown
    return Found(delivery, system, about)


def _view(ledger: Ledger, found: Found) -> dict[str, Any]:
    """Where the propagation stands, from the ledger itself (a confirmation is read back at
    once, whatever the read side's lag)."""
    system = found.system
    view: dict[str, Any] = {
        "id": found.delivery.id, "type": found.delivery.type, "system_id": system.id,
        "system_name": system.system.name, "delivery_status": found.delivery.status,
    }
    if found.is_consent:
        confirmed = found.delivery.id in ledger.subject(found.about).confirmed_propagations
        status = PropagationStatus.CONFIRMED if confirmed else PropagationStatus.PENDING
        return {**view, "subject_id": found.about, "request_id": None, "status": status}
    request = ledger.data_request(found.about)
    state = request.propagation.get(system.id)
    if state is None:  # a delivery is only made for a system the propagation named
        raise NotFound(f"no propagation with id {found.delivery.id}")
    return {
        **view, "subject_id": request.subject_id, "request_id": request.id,
        "status": state["status"], "at": state["at"], "reason": state["reason"],
    }


def _answered(ledger: Ledger, found: Found, outcome: Outcome | None) -> PropagationChanged:
    """A second confirmation records nothing: its position is the log's head, at or after
    the first one's."""
    position = outcome.position if outcome is not None else (
        ledger.recorder.max_notification_id() or 0
    )
    return PropagationChanged(**_view(ledger, found), position=position)


@router.post("/{propagation_id}/confirm", responses=documented(409))
def confirm(
    propagation_id: PropagationId, caller: System, ledger: LedgerDep, container: ContainerDep
) -> PropagationChanged:
    """The system applied it (erased, rectified, or took the consent change on). Recorded as
    an event; confirming again records nothing and answers the same. An erasure's or a
    rectification's confirmation is recorded even after the request was closed; a consent
    change's is refused (409) once the subject is erased, since nothing more is recorded
    about them."""
    found = _propagation(container, propagation_id, caller)
    if found.is_consent:
        outcome = ledger.confirm_consent_propagation(
            found.about, found.system.id, found.delivery.id, caller.actor
        )
    else:
        outcome = ledger.confirm_request_propagation(found.about, found.system.id, caller.actor)
    return _answered(ledger, found, outcome)


@router.post("/{propagation_id}/failure", responses=documented(409))
def report_failure(
    propagation_id: PropagationId, body: FailureReport, caller: System, ledger: LedgerDep,
    container: ContainerDep,
) -> PropagationChanged:
    """The system could not apply an erasure or a rectification, and says why (recorded,
    sealed with the subject's key). It may still confirm later; the request waits until it
    does, or an officer waives the propagation. A consent change has no failure to record: it
    stays unconfirmed (409)."""
    found = _propagation(container, propagation_id, caller)
    if found.is_consent:
        raise ProblemException(
            409, "a consent change is confirmed or left unconfirmed; only an erasure or a "
            "rectification records a failure",
        )
    outcome = ledger.report_propagation_failure(
        found.about, found.system.id, body.reason, caller.actor
    )
    return _answered(ledger, found, outcome)


@router.get("/{propagation_id}")
def get_propagation(
    propagation_id: PropagationId, caller: OfficerOrSystem, ledger: CurrentLedgerDep,
    container: ContainerDep,
) -> PropagationOut:
    """A propagation and whether its system has confirmed it: the system it went to, or an
    officer."""
    found = _propagation(container, propagation_id, caller)
    return PropagationOut.model_validate(_view(ledger, found))
