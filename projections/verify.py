"""`ledger verify`: recompute the Merkle log from the stored events and check every signed checkpoint.

One streaming pass merges three ordered streams - the events (by notification id), the sealed
leaves (by leaf index) and the checkpoints (by tree size) - so memory stays flat for any log:

  * each sealed leaf must have its event, under the same id, hashing to the same leaf
    (else "missing" or "changed"); the leaf ids must rise (else "reordered");
  * an event whose id lies inside the sealed range but has no leaf was slipped in ("extra");
  * the stored leaf hashes are rolled through a CompactRange, and when it reaches a checkpoint's
    size its root must equal the signed root ("changed": leaves and events rewritten together),
    after the Ed25519 signature over the checkpoint text holds ("bad signature").

Because every leaf is first matched against its event, rolling the *stored* leaves is the same as
rolling the recomputed ones whenever all holds, and one damaged row is reported once instead of
failing every later checkpoint too. Events beyond the sealed range are fine: not yet sealed.

A second pass runs only when rows changed: it looks for the changed contents under another
sealed position, to tell a reordering (contents swapped or moved) from a plain change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from projections.checkpoints import Checkpoint, signature_holds
from projections.database import Database
from projections.leaves import leaf_bytes_from_digest, notification_leaf_hash, state_digest
from projections.merkle import CompactRange, leaf_hash
from projections.merkle_store import create_tables, iter_checkpoints, iter_leaves, latest_checkpoint, read_state

CHANGED, MISSING, REORDERED, EXTRA, BAD_SIGNATURE = (
    "changed", "missing", "reordered", "extra", "bad signature"
)
KEPT_PROBLEMS = 100  # a report keeps the first ones and counts the rest
RECLASSIFIED = 10  # changed rows looked up elsewhere in the log by the second pass

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    kind: str
    position: int  # leaf index where the log first goes wrong
    notification_id: int | None = None
    detail: str = ""
    checkpoint: int | None = None  # tree size, for problems with a checkpoint

    def describe(self) -> str:
        if self.checkpoint is not None:
            where = f"checkpoint of tree size {self.checkpoint}"
        elif self.notification_id is not None:
            where = f"position {self.position} (event id {self.notification_id})"
        else:
            where = f"position {self.position}"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass
class Report:
    events: int = 0
    sealed: int = 0
    checkpoints: int = 0
    unsealed: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.position) if self.problems else None

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < KEPT_PROBLEMS:
            self.problems.append(problem)


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


def iter_events(recorder: Any, chunk: int = 1000) -> Iterator[Any]:
    """Every stored event in notification-id order, from the very lowest id (a row slipped in
    below the first one counts too), in keyset chunks."""
    batch = recorder.select_notifications(start=None, limit=chunk)
    while batch:
        yield from batch
        if len(batch) < chunk:
            return
        batch = recorder.select_notifications(
            start=batch[-1].id, limit=chunk, inclusive_of_start=False
        )


@dataclass
class _Suspect:
    """A changed row's current contents, to look for under another sealed position."""

    position: int
    notification_id: int
    originator_id: Any
    originator_version: int
    topic: str
    state_sha256: str


def verify_log(
    recorder: Any,
    db: Database,
    public_key: Ed25519PublicKey,
    *,
    chunk: int = 1000,
    on_event: Callable[[int], None] | None = None,
) -> Report:
    """Check the whole log. `on_event(notification_id)` is called for every event read (for a
    progress bar). Runs safely next to a working sealer: it checks the state sealed when it began."""
    create_tables(db)
    # Checkpoints first, then the state: the sealer signs only sizes it has already sealed, so
    # every checkpoint read here is covered by the state read next.
    latest = latest_checkpoint(db)
    signed_bound = latest.tree_size if latest else 0
    state = read_state(db)
    bound = state.tree.size

    report = Report()
    suspects: list[_Suspect] = []

    def counted(items: Iterator[Any]) -> Iterator[Any]:
        for item in items:
            report.events += 1
            if on_event is not None:
                on_event(int(item.id))
            yield item

    events = _Peekable(counted(iter_events(recorder, chunk)))
    checkpoints = _Peekable(cp for cp in iter_checkpoints(db) if cp.tree_size <= signed_bound)
    tree = CompactRange()
    rolling = True  # false once a leaf row is missing: later roots cannot be recomputed
    expected, previous_id = 0, None
    last_good = 0  # largest checkpoint size whose root matched

    def check_checkpoint(cp: Checkpoint) -> None:
        nonlocal last_good
        report.checkpoints += 1
        if not signature_holds(public_key, cp):
            report.add(Problem(
                BAD_SIGNATURE, max(cp.tree_size - 1, 0), None,
                f"the checkpoint signed at {cp.timestamp} does not carry a valid signature "
                "for its tree size, root and time",
                checkpoint=cp.tree_size,
            ))
            return
        if not rolling or cp.tree_size != tree.size:
            return  # a missing leaf row was already reported; this root cannot be recomputed
        if tree.root() != cp.root_hash:
            report.add(Problem(
                CHANGED, cp.tree_size - 1, None,
                f"the first {cp.tree_size} sealed leaves hash to {tree.root().hex()}, not to the "
                f"signed root {cp.root_hash.hex()}: events and leaves were rewritten together "
                f"somewhere in positions {last_good}..{cp.tree_size - 1}",
                checkpoint=cp.tree_size,
            ))
        else:
            last_good = cp.tree_size

    for index, notification_id, stored in iter_leaves(db, end=bound, chunk=chunk):
        if index != expected:
            report.add(Problem(
                MISSING, expected, None,
                f"the sealed log has no leaf rows for positions {expected}..{index - 1}",
            ))
            rolling, expected = False, index
        if previous_id is not None and notification_id <= previous_id:
            report.add(Problem(
                REORDERED, index, notification_id,
                f"the sealed log lists event id {notification_id} after event id {previous_id}",
            ))
        while (event := events.peek()) is not None and event.id < notification_id:
            events.take()
            report.add(Problem(
                EXTRA, index, int(event.id),
                f"an event is stored (id {event.id}, topic {event.topic}) where the sealed log "
                "has none: a row was inserted",
            ))
        event = events.peek()
        if event is not None and event.id == notification_id:
            events.take()
            if notification_leaf_hash(event) != stored:
                report.add(Problem(
                    CHANGED, index, notification_id,
                    "the stored event no longer hashes to its sealed leaf",
                ))
                if len(suspects) < RECLASSIFIED:
                    suspects.append(_Suspect(
                        index, notification_id, event.originator_id, int(event.originator_version),
                        event.topic, state_digest(event.state),
                    ))
        else:
            report.add(Problem(
                MISSING, index, notification_id, "the sealed event is no longer stored (row deleted)"
            ))
        previous_id = notification_id
        expected = index + 1
        report.sealed += 1
        if rolling:
            tree.append(stored)
        while (cp := checkpoints.peek()) is not None and cp.tree_size <= expected:
            check_checkpoint(checkpoints.take())

    if expected < bound:
        report.add(Problem(
            MISSING, expected, None,
            f"the sealed log has no leaf rows for positions {expected}..{bound - 1}",
        ))
        rolling = False
    while (cp := checkpoints.peek()) is not None:
        check_checkpoint(checkpoints.take())
        report.add(Problem(
            MISSING, expected, None,
            f"a checkpoint covers {cp.tree_size} leaves but the sealed log has only {expected}",
            checkpoint=cp.tree_size,
        ))
    if rolling and bound and tree.root() != state.tree.root():
        report.add(Problem(
            CHANGED, bound - 1, None,
            "the sealer's saved tree state does not match its stored leaves",
        ))
    while events.peek() is not None:
        events.take()
        report.unsealed += 1

    if suspects:
        _reclassify_moves(recorder, db, bound, suspects, report, chunk)
    report.problems.sort(key=lambda p: p.position)
    return report


def _reclassify_moves(
    recorder: Any, db: Database, bound: int, suspects: list[_Suspect], report: Report, chunk: int
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
            if suspect.position == index or len(matches[suspect.position]) >= RECLASSIFIED:
                continue
            whole_row = leaf_bytes_from_digest(
                notification_id, suspect.originator_id, suspect.originator_version,
                suspect.topic, suspect.state_sha256,
            )
            if leaf_hash(whole_row) == stored:
                matches[suspect.position].append((index, (
                    f"the event stored under id {suspect.notification_id} was sealed at position "
                    f"{index} (event id {notification_id}): rows are in another order"
                )))
                continue
            if here is None:
                continue
            contents_only = leaf_bytes_from_digest(
                notification_id, here.originator_id, here.originator_version,
                suspect.topic, suspect.state_sha256,
            )
            if leaf_hash(contents_only) == stored:
                matches[suspect.position].append((index, (
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
