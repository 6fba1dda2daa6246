"""How events stored before their class changed read today: one function per change, named by
what the old event meant, used as the new class's `upcast_v1_v2` (eventsourcing upcasts the
stored state before it builds the event)."""

from __future__ import annotations

from typing import Any


def tenancy_unknown(state: dict[str, Any]) -> None:
    """An access request asked before tenancies were counted: judged by the termination times."""
    state["tenancy"] = None


def every_channel(state: dict[str, Any]) -> None:
    """Before consent was kept per channel, a decision applied to its whole purpose whatever
    channel it named: such events read as decisions for every channel, and the channel they
    named is kept as `noted_channel`."""
    state["noted_channel"] = state.get("channel")
    state["channel"] = None


def received_when_entered(state: dict[str, Any]) -> None:
    """Before a subject's request could be entered after it arrived, it was received when
    entered."""
    state["received_at"] = None


def told_by_hand(state: dict[str, Any]) -> None:
    """Before the ledger mailed incident notices itself, an officer recorded each one."""
    state["message_id"] = None
