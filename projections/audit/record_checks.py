"""`ledger verify`'s check of the sealer's record (`merkle_state`) and of the events past the leaves.

The record must be what the stored leaves give (sealed_state.py): their number, the last one's
event id, the frontier of their tree. Otherwise the sealer halts, or would seal on from a wrong
tree. The events after the last leaf are either not sealed yet, or - when their id is below the
record's last sealed id, where the sealer never looks again - slipped in behind it.
"""

from __future__ import annotations

from collections.abc import Iterator

from projections.audit.event_rows import NO_MORE_EVENTS, Row
from projections.audit.liveness import Pending
from projections.audit.report import CHANGED, EXTRA, GARBLED, Problem, Report
from projections.audit.tree_checks import Rolled
from projections.merkle_log.sealed_state import SealedState, Snapshot, StateInconsistent


def check_record(snapshot: Snapshot, rolled: Rolled | None, report: Report) -> SealedState | None:
    """The sealer's record against the stored leaves; the record, when it can be read."""
    try:
        state = snapshot.state()
    except StateInconsistent as error:
        report.add(Problem(GARBLED, 0, None, str(error), where="merkle_state"))
        return None
    reason = snapshot.inconsistency()
    if reason is not None:
        report.add(Problem(CHANGED, min(state.tree.size, snapshot.leaves), None, reason,
                           where="merkle_state"))
    elif rolled is not None and rolled.tree().frontier != state.tree.frontier:
        report.add(Problem(
            CHANGED, max(state.tree.size - 1, 0), None,
            "the frontier saved in merkle_state is not the one the stored leaves give: the "
            "sealer would seal on from a wrong tree", where="merkle_state",
        ))
    return state


def past_the_leaves(
    event: Row, events: Iterator[tuple[Row, bytes | None]], state: SealedState | None,
    bound: int, signed: int, report: Report,
) -> Pending:
    """The events after the last leaf: not yet sealed, or - below the sealer's record, which it
    seals on from - slipped in behind it, where it will never look (a forgery)."""
    behind = state.last_notification_id if state is not None else 0
    first = last = None
    count = 0
    while event is not NO_MORE_EVENTS[0]:
        notification_id = int(event[0])
        if notification_id <= behind:
            report.add(Problem(
                EXTRA, bound, notification_id,
                f"an event is stored below the sealer's last sealed event id {behind} but is no "
                "leaf: it was slipped in behind the sealer, which never seals it (a forgery)",
                where=f"event id {notification_id} (no leaf)",
            ))
        else:
            first = notification_id if first is None else first
            last, count = notification_id, count + 1
        event = next(events, NO_MORE_EVENTS)[0]
    report.unsealed = count
    return Pending(bound, signed, first, last, count)
