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

What the proofs and the sealer rely on is checked in the same pass: the stored interior nodes
as the tree completes them (tree_checks.py), the sealer's record against the leaves
(`merkle_state`, sealed_state.py), a checkpoint the auditor kept (trusted_checkpoint.py),
and, given the delay, that nothing waits longer than it to be sealed and signed (liveness.py).

A second pass runs only when rows changed: it looks for the changed contents under another
sealed position, to tell a reordering (contents swapped or moved) from a plain change
(projections/audit/moved_rows.py). What it finds is a `Report` (projections/audit/report.py).

The first pass does per event only what it must - read the row, hash its state and its leaf,
roll one node hash - so the rest happens a chunk at a time: the events are read as plain rows
(`event_source`, projections/audit/event_rows.py) and hashed a chunk per comprehension, the matched leaf hashes go into
the tree in bulk (`_Rolled`), and on PostgreSQL the next chunk of events and of leaves is asked
for before the current one is hashed, so the server works meanwhile.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator
from itertools import chain
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from projections.audit import trusted_checkpoint as kept
from projections.audit.event_rows import NO_MORE_EVENTS, EventSource, Row, event_source
from projections.audit.liveness import overdue
from projections.audit.record_checks import check_record, past_the_leaves
from projections.audit.moved_rows import RECLASSIFIED, Suspect, reclassify_moves, suspect
from projections.audit.report import BAD_SIGNATURE, CHANGED, EXTRA, MISSING, REORDERED
from projections.audit.report import Problem, Report
from projections.audit.tree_checks import Rolled, StoredNodes, readable, rolls
from projections.merkle_log.checkpoints import Checkpoint, signature_holds
from projections.merkle_log.sealed_state import read_snapshot
from projections.merkle_log.store import create_tables, iter_checkpoints, latest_checkpoint, leaf_chunks
from projections.storage.database import Database


def _hashed(
    source: EventSource, report: Report, on_event: Callable[[int], None] | None
) -> Iterator[tuple[Row, bytes | None]]:
    """Each row with its leaf hash (None: to be taken one by one), hashed, counted and passed to
    `on_event` a chunk at a time, as a generator step per event cost more than the counting."""

    def hashed_chunks() -> Iterator[Iterator[tuple[Row, bytes | None]]]:
        for rows in source.chunks:
            report.events += len(rows)
            if on_event is not None:
                for row in rows:
                    on_event(int(row[0]))
            yield zip(rows, source.leaf_hashes(rows))

    return chain.from_iterable(hashed_chunks())


def verify_log(
    recorder: Any,
    db: Database,
    public_key: Ed25519PublicKey,
    *,
    chunk: int = 1000,
    leaf_chunk: int = 10_000,
    on_event: Callable[[int], None] | None = None,
    delay: float | None = None,
    trusted: kept.Trusted | None = None,
) -> Report:
    """Check the whole log. `on_event(notification_id)` is called for every event read (for a
    progress bar). Runs safely next to a working sealer: it checks the leaves sealed when it
    began. With `delay` (seconds) what is unsealed or unsigned for longer fails; `trusted` is
    a checkpoint note the auditor kept, which the log must extend.

    Events are read `chunk` rows a query (as `iter_events` reads them), leaves `leaf_chunk`
    positions a query: a leaf row is small, and each query has a cost of its own."""
    create_tables(db)
    # Checkpoints first, then the leaves: the sealer signs only sizes it has already sealed, so
    # every checkpoint read here is covered by the leaves read next (with the sealer's record,
    # in one statement, so the two agree unless one was tampered with).
    latest = latest_checkpoint(db)
    signed_bound = latest.tree_size if latest else 0
    snapshot = read_snapshot(db)
    bound = snapshot.leaves

    report = Report()
    suspects: list[Suspect] = []

    source = event_source(recorder, chunk)
    events = _hashed(source, report, on_event)
    checkpoints: Iterator[Checkpoint | kept.Trusted] = (
        cp for cp in iter_checkpoints(db) if cp.tree_size <= signed_bound
    )
    if trusted is not None:
        refused = kept.vouched(trusted, db, public_key)
        if refused is not None:
            report.add(refused)
        else:
            checkpoints = heapq.merge(checkpoints, [trusted], key=lambda cp: cp.tree_size)
    nodes = StoredNodes(db, bound, report)
    rolled = Rolled(nodes)
    rolling = True  # false once a leaf row is missing: later roots cannot be recomputed
    expected = 0
    last_good = 0  # largest checkpoint size whose root matched

    def check_checkpoint(cp: Checkpoint | kept.Trusted) -> None:
        nonlocal last_good
        if isinstance(cp, kept.Trusted):
            tree = rolled.tree()
            if rolling and tree.size == cp.tree_size:
                for problem in kept.compare(cp, tree.size, tree.root(), db):
                    report.add(problem)
            return
        report.checkpoints += 1
        if not signature_holds(public_key, cp):
            report.add(Problem(
                BAD_SIGNATURE, max(cp.tree_size - 1, 0), None,
                f"the checkpoint signed at {cp.timestamp} does not carry a valid signature "
                "for its tree size, root and time",
                checkpoint=cp.tree_size,
            ))
            return
        tree = rolled.tree()
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
            nodes.explained_by(last_good, cp.tree_size)
        else:
            last_good = cp.tree_size

    # The hot loop runs once per sealed event, so the streams are plain iterators with their
    # next item held in a local (`event`, `cp` and its size `due`), ends are marked by values
    # no comparison stops at, and the functions it calls are bound to locals.
    event, recomputed = next(events, NO_MORE_EVENTS)
    cp = next(checkpoints, None)
    due = cp.tree_size if cp is not None else math.inf
    hash_of, keep = source.leaf_hash, rolled.matched.append
    previous_id: float = -math.inf  # below any id: the first leaf follows no other
    sealed = 0
    for leaves in readable(leaf_chunks(db, end=bound, chunk=leaf_chunk), report, lambda: expected):
        for index, notification_id, stored in leaves:
            if index != expected:
                report.add(Problem(
                    MISSING, expected, None,
                    f"the sealed log has no leaf rows for positions {expected}..{index - 1}",
                ))
                rolling, expected = False, index
            if notification_id <= previous_id:
                report.add(Problem(
                    REORDERED, index, notification_id,
                    f"the sealed log lists event id {notification_id} after event id {previous_id}",
                ))
            while event[0] < notification_id:
                report.add(_extra(index, event, notification_id))
                event, recomputed = next(events, NO_MORE_EVENTS)
            if event[0] == notification_id:
                if (recomputed or hash_of(event)) == stored:
                    if rolling:
                        keep(stored)
                else:
                    report.add(Problem(
                        CHANGED, index, notification_id,
                        "the stored event no longer hashes to its sealed leaf",
                    ))
                    if len(suspects) < RECLASSIFIED:
                        suspects.append(suspect(index, notification_id, event, source))
                    if rolling:
                        rolling = rolls(rolled, stored, index, report)
                event, recomputed = next(events, NO_MORE_EVENTS)
            else:
                report.add(Problem(
                    MISSING, index, notification_id,
                    "the sealed event is no longer stored (row deleted)",
                ))
                if rolling:
                    rolling = rolls(rolled, stored, index, report)
            previous_id = notification_id
            expected = index + 1
            sealed += 1
            while due <= expected:
                check_checkpoint(cp)
                cp = next(checkpoints, None)
                due = cp.tree_size if cp is not None else math.inf
        rolled.tree()  # a chunk's matched hashes at most are held back
    report.sealed = sealed

    if expected < bound:
        report.add(Problem(
            MISSING, expected, None,
            f"the sealed log has no leaf rows for positions {expected}..{bound - 1}",
        ))
        rolling = False
    while cp is not None:
        check_checkpoint(cp)
        if isinstance(cp, kept.Trusted):
            if cp.tree_size > expected:
                report.add(kept.truncated(cp, expected))
        else:
            report.add(Problem(
                MISSING, expected, None,
                f"a checkpoint covers {cp.tree_size} leaves but the sealed log has only {expected}",
                checkpoint=cp.tree_size,
            ))
        cp = next(checkpoints, None)
    nodes.report_found()
    if rolling:
        nodes.check_extra(lambda: read_snapshot(db).leaves)
    state = check_record(snapshot, rolled if rolling else None, report)
    pending = past_the_leaves(event, events, state, bound, signed_bound, report)
    if delay is not None:
        for problem in overdue(db, pending, latest, delay):
            report.add(problem)

    if suspects:
        reclassify_moves(recorder, db, bound, suspects, report, chunk)
    report.problems.sort(key=lambda p: p.position)
    return report


def _extra(index: int, event: Row, sealed_id: int) -> Problem:
    notification_id, _, _, topic, _ = event
    return Problem(
        EXTRA, index, int(notification_id),
        f"an event is stored (id {notification_id}, topic {topic}) just before position "
        f"{index} (event id {sealed_id}), where the sealed log has none: a row was inserted",
    )
