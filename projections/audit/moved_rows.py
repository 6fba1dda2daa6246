"""The second pass of `ledger verify`, run only when rows changed: is a changed row's content the
sealed content of another position? That tells a reordering (contents swapped or moved) from a
plain change."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from projections.audit.event_rows import EventSource, Row, iter_events
from projections.audit.report import CHANGED, REORDERED, Problem, Report
from projections.merkle_log.leaves import leaf_bytes_from_digest, state_digest
from projections.merkle_log.rfc9162 import leaf_hash
from projections.merkle_log.store import iter_leaves
from projections.storage.database import Database

RECLASSIFIED = 10  # changed rows looked up elsewhere in the log by the second pass

T = TypeVar("T")


@dataclass
class Suspect:
    """A changed row's current contents, to look for under another sealed position."""

    position: int
    notification_id: int
    originator_id: Any
    originator_version: int
    topic: str
    state_sha256: str


def suspect(index: int, notification_id: int, event: Row, source: EventSource) -> Suspect:
    _, originator_id, originator_version, topic, state = event
    return Suspect(
        index, notification_id, source.originator_text(originator_id), int(originator_version),
        topic, state_digest(state),
    )


def reclassify_moves(
    recorder: Any, db: Database, bound: int, suspects: list[Suspect], report: Report, chunk: int
) -> None:
    """Second pass: is a changed row's content the sealed content of another position? Checks
    both a whole row moved (identity and contents) and contents moved between two identities.
    A match at another changed position (the other half of a swap) is preferred to one at an
    untouched position (a copy of contents that happen to repeat)."""
    matches: dict[int, list[tuple[int, str]]] = {s.position: [] for s in suspects}
    events = _Peekable(iter_events(recorder, chunk))
    for index, notification_id, stored in iter_leaves(db, end=bound, chunk=chunk):
        while (event := events.peek()) is not None and event.id < notification_id:
            events.take()
        here = events.take() if (event := events.peek()) is not None and event.id == notification_id else None
        for suspect in suspects:
            moved = matches[suspect.position]
            if suspect.position == index or len(moved) >= RECLASSIFIED:
                continue
            if _sealed_as(stored, suspect, notification_id, suspect):
                moved.append((index, (
                    f"the event stored under id {suspect.notification_id} was sealed at position "
                    f"{index} (event id {notification_id}): rows are in another order"
                )))
            elif here is not None and _sealed_as(stored, suspect, notification_id, here):
                moved.append((index, (
                    f"the state and topic stored here were sealed at position {index} "
                    f"(event id {notification_id}): contents were swapped, moved or copied"
                )))
    changed_positions = {s.position for s in suspects}
    found: dict[int, str] = {}
    for position, candidates in matches.items():
        if candidates:
            partners = [c for c in candidates if c[0] in changed_positions]
            found[position] = (partners or candidates)[0][1]
    if not found:
        return
    report.problems = [
        Problem(REORDERED, p.position, p.notification_id, found[p.position])
        if p.kind == CHANGED and p.checkpoint is None and p.position in found else p
        for p in report.problems
    ]


def _sealed_as(stored: bytes, suspect: Suspect, notification_id: int, identity: Any) -> bool:
    """Whether `stored` is the leaf of the suspect's topic and state under `identity`'s
    originator id and version: the suspect's own (a whole row moved) or the row's found at
    this position (contents moved between two identities)."""
    leaf = leaf_bytes_from_digest(
        notification_id, identity.originator_id, identity.originator_version,
        suspect.topic, suspect.state_sha256,
    )
    return leaf_hash(leaf) == stored


class _Peekable(Generic[T]):
    def __init__(self, items: Iterator[T]) -> None:
        self._items = items
        self._next: T | None = None
        self._done = False
        self._advance()

    def _advance(self) -> None:
        try:
            self._next = next(self._items)
        except StopIteration:
            self._next, self._done = None, True

    def peek(self) -> T | None:
        return self._next

    def take(self) -> T:
        item = self._next
        assert item is not None
        self._advance()
        return item
