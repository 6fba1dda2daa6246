"""Propagation: what the vendor's own systems that hold personal data (its mail system, CRM,
application databases) must be told, and how a subject's request waits for them.

A `DownstreamSystem` is registered by an officer with the consent purposes and the kinds of
request that concern it. Consent changes, erasures and rectifications are delivered to each
concerned system, which confirms that it applied them (or reports that it could not). An
erasure or rectification request starts its propagation when the requester's identity is
verified, never before (otherwise anyone could have someone's data erased downstream), and is
fulfilled only when every system concerned has confirmed or an officer waived the rest with a
recorded reason. `PropagatedRequest` holds those rules for `DataRequest`, whose events they
record (domain/data_request.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain import values
from domain.errors import (
    DataRequestClosed,
    DataRequestStepOutOfOrder,
    InvalidInput,
    NotFound,
    StateConflict,
)
from domain.vocabulary import DataRequestKind

# The kinds of request whose outcome the vendor's systems must apply themselves.
PROPAGATED_KINDS = frozenset({DataRequestKind.ERASURE.value, DataRequestKind.RECTIFICATION.value})


class PropagationStatus(StrEnum):
    PENDING = "pending"  # told, no answer yet
    CONFIRMED = "confirmed"  # the system applied it
    FAILED = "failed"  # the system could not (it may still confirm later)
    WAIVED = "waived"  # an officer closed it without the system's confirmation, with a reason


# Neither blocks fulfilling the request any longer.
SETTLED = frozenset({PropagationStatus.CONFIRMED, PropagationStatus.WAIVED})


@dataclass(frozen=True)
class DownstreamSystem:
    id: UUID
    name: str
    purposes: frozenset[str]  # Purpose values: consent changes for these concern it
    kinds: frozenset[str]  # of PROPAGATED_KINDS: requests of these kinds concern it

    @classmethod
    def define(
        cls, system_id: UUID, name: str, purposes: Iterable[str], kinds: Iterable[str]
    ) -> "DownstreamSystem":
        """A system as an officer describes it, each value checked (InvalidInput naming it)."""
        name = values.text("name", name, max_length=200) or ""
        chosen_purposes = frozenset(values.purpose(p).value for p in _listed("purposes", purposes))
        chosen_kinds = frozenset(_listed("kinds", kinds))
        unknown = chosen_kinds - PROPAGATED_KINDS
        if unknown:
            raise InvalidInput(
                "kinds", f"only {' and '.join(sorted(PROPAGATED_KINDS))} requests are "
                f"propagated, not {', '.join(sorted(map(str, unknown)))}",
            )
        if not chosen_purposes and not chosen_kinds:
            raise InvalidInput(
                "purposes", "a system that no purpose and no kind of request concerns would "
                "never be told anything: name at least one purpose or kind",
            )
        return cls(system_id, name, chosen_purposes, chosen_kinds)

    def concerns_consent(self, purpose: str) -> bool:
        return purpose in self.purposes

    def concerns_request(self, kind: str) -> bool:
        return kind in self.kinds


def concerned(systems: Iterable[DownstreamSystem], kind: str) -> list[DownstreamSystem]:
    """The systems a request of `kind` must reach, each once, in the order given."""
    if kind not in PROPAGATED_KINDS:
        return []
    found: dict[UUID, DownstreamSystem] = {}
    for system in systems:
        if system.concerns_request(kind):
            found.setdefault(system.id, system)
    return list(found.values())


class PropagationSettled(StateConflict):
    def __init__(self, name: str, status: str) -> None:
        super().__init__(f"the propagation to {name} is {status} already; a failure is not "
                         "recorded over it")
        self.status = status


class PropagatedRequest:
    """The propagation rules of a subject's request (mixed into `DataRequest`, which declares
    the events they record). `propagation`: system id → its state, `{name, status, at,
    reason}`, in the order the systems were told."""

    propagation: dict[UUID, dict[str, Any]]
    kind: str
    subject_id: UUID
    status: str
    is_open: bool
    trigger_event: Any
    PropagationStarted: Any
    PropagationConfirmed: Any
    PropagationFailed: Any
    PropagationWaived: Any

    def start_propagation(self, systems: Iterable[DownstreamSystem], now: datetime) -> None:
        """When the identity is verified: the systems concerned are told; none, nothing."""
        chosen = concerned(systems, self.kind)
        if not chosen or self.propagation:
            return
        self.trigger_event(
            self.PropagationStarted, kind=self.kind, subject_id=self.subject_id,
            systems=[s.id for s in chosen], system_names=[s.name for s in chosen],
            timestamp=now,
        )

    def waiting_for(self) -> list[UUID]:
        """The systems whose confirmation the request still waits for."""
        return [
            system_id for system_id, state in self.propagation.items()
            if state["status"] not in SETTLED
        ]

    def ensure_propagated(self) -> None:
        waiting = self.waiting_for()
        if waiting:
            names = ", ".join(self.propagation[s]["name"] for s in waiting)
            raise DataRequestStepOutOfOrder(
                f"waiting for {names} to confirm; or waive the propagation with a reason"
            )

    def confirm_propagation(self, system_id: UUID, actor: str, now: datetime) -> bool:
        """False when the system had confirmed already (nothing recorded). A confirmation that
        comes after a failure, a waiver, or the request's close is a fact, and recorded."""
        if self._state(system_id)["status"] == PropagationStatus.CONFIRMED:
            return False
        self.trigger_event(
            self.PropagationConfirmed, system_id=system_id, actor=actor, timestamp=now
        )
        return True

    def report_propagation_failure(
        self, system_id: UUID, reason: str, actor: str, now: datetime
    ) -> None:
        state = self._state(system_id)
        if state["status"] in SETTLED:
            raise PropagationSettled(state["name"], state["status"])
        self.trigger_event(
            self.PropagationFailed, system_id=system_id, subject_id=self.subject_id,
            reason=values.text("reason", reason, max_length=2000), actor=actor, timestamp=now,
        )

    def waive_propagation(
        self, reason: str, actor: str, now: datetime, keep_reason: bool = True
    ) -> None:
        """The systems not yet confirmed are let go of, for the reason given. `keep_reason`
        False when the subject's key is gone: required, but not recorded (as a rejection's)."""
        if not self.is_open:
            raise DataRequestClosed(self.status)
        if not self.propagation:
            raise DataRequestStepOutOfOrder("this request has no propagation to waive")
        waiting = self.waiting_for()
        if not waiting:
            raise DataRequestStepOutOfOrder("every system concerned has confirmed; nothing to waive")
        reason = values.text("reason", reason, max_length=2000)
        self.trigger_event(
            self.PropagationWaived, systems=waiting, subject_id=self.subject_id,
            reason=reason if keep_reason else None, actor=actor, timestamp=now,
        )

    def settle_propagation(
        self, system_id: UUID, status: str, at: datetime, reason: str | None = None
    ) -> None:
        """A system's answer (or the waiver), as its event applies it: the mapping is
        replaced, not changed in place."""
        name = self.propagation[system_id]["name"]
        self.propagation = {
            **self.propagation, system_id: propagation_state(name, status, at, reason)
        }

    def _state(self, system_id: UUID) -> dict[str, Any]:
        state = self.propagation.get(system_id)
        if state is None:
            raise NotFound(f"the request was not propagated to system {system_id}")
        return state


def propagation_state(name: str, status: str, at: datetime, reason: str | None = None) -> dict[str, Any]:
    return {"name": name, "status": status, "at": at, "reason": reason}


def _listed(field: str, given: Iterable[str]) -> list[str]:
    if isinstance(given, str) or not all(isinstance(item, str) for item in given):
        raise InvalidInput(field, f"{field} must be a list of words")
    return list(given)
