"""The sealer's tracking record: how far it has sealed, saved with what it sealed.

`merkle_state` (one row) holds the tree's size, its CompactRange frontier and the last sealed
notification id. A batch's leaves, the interior nodes it completes and that row are written in
ONE transaction, guarded by the tree size read (on PostgreSQL, locked) inside it. That makes the
sealer a tracked consumer of the log as the read models are (their record is
`projection_tracking`): a crash or a second sealer never loses or doubles a leaf, and a restart
resumes from this record.

The record must agree with the leaves it was saved with. When it does not (it was moved back or
forward, garbled, or leaves were added or deleted behind it), resuming from it would write
leaves where leaves are, or skip events for good: the sealer stops instead (`StateInconsistent`,
sealer_halts.py), and `ledger verify` names the disagreement (projections/audit/state_checks.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from projections.merkle_log.compact_range import CompactRange
from projections.merkle_log.leaves import notification_leaf_hash
from projections.merkle_log.store import NODE_STRIDE
from projections.storage.database import Database


class Overtaken(Exception):
    """Another sealer wrote first: our view of the tree is stale."""


class StateInconsistent(Exception):
    """The sealer's record disagrees with the stored leaves, or cannot be read: sealing on from
    it would corrupt the log. The message says what disagrees, for an operator."""


@dataclass
class SealedState:
    tree: CompactRange
    last_notification_id: int  # 0 before the first leaf: every stored id is above it


@dataclass(frozen=True)
class Snapshot:
    """The record and the end of the stored leaves, read in one statement (so one snapshot: a
    sealer committing meanwhile changes both or neither)."""

    row: tuple[Any, Any, Any] | None  # tree_size, frontier, last_notification_id as stored
    leaves: int  # the highest stored leaf index + 1 (0 when none)
    last_leaf_id: Any  # the notification id of the leaf at the record's tree_size - 1

    def state(self) -> SealedState:
        """The record, parsed. Raises StateInconsistent naming the column that is garbled."""
        if self.row is None:
            return SealedState(CompactRange(), 0)
        size, frontier, last_id = self.row
        try:
            size, last_id = int(size), int(last_id)
        except (TypeError, ValueError):
            raise StateInconsistent(
                f"merkle_state is garbled: tree_size {size!r} or last_notification_id {last_id!r} "
                "is not a number"
            ) from None
        try:
            hashes = json.loads(frontier)
        except (TypeError, ValueError):
            raise StateInconsistent(
                f"merkle_state's frontier is garbled: not JSON ({str(frontier)[:40]!r})"
            ) from None
        try:
            tree = CompactRange.from_state({"size": size, "frontier": hashes})
        except ValueError as error:
            raise StateInconsistent(f"merkle_state's frontier is garbled: {error}") from None
        return SealedState(tree, last_id)

    def inconsistency(self) -> str | None:
        """What in the record disagrees with the stored leaves, or None."""
        try:
            state = self.state()
        except StateInconsistent as error:
            return str(error)
        size, last_id = state.tree.size, state.last_notification_id
        if self.leaves > size:
            return (
                f"merkle_state says {size} leaves are sealed but leaves are stored up to position "
                f"{self.leaves - 1}: the record was moved back"
            )
        if self.leaves < size:
            return (
                f"merkle_state says {size} leaves are sealed but the stored leaves end at "
                f"position {self.leaves - 1}: the record was moved forward, or leaves deleted"
            )
        if size and self.last_leaf_id != last_id:
            return (
                f"merkle_state's last sealed event id is {last_id} but the leaf at position "
                f"{size - 1} is event id {self.last_leaf_id}"
            )
        if not size and last_id:
            return f"merkle_state's last sealed event id is {last_id} but no leaf is stored"
        return None


_SNAPSHOT_SQL = (
    "SELECT s.tree_size, s.frontier, s.last_notification_id, m.top, l.notification_id "
    "FROM (SELECT MAX(leaf_index) AS top FROM merkle_leaves) m "
    "LEFT JOIN merkle_state s ON s.id = 1 "
    "LEFT JOIN merkle_leaves l ON l.leaf_index = s.tree_size - 1"
)


def read_snapshot(db: Database) -> Snapshot:
    size, frontier, last_id, top, last_leaf_id = db.fetchone(_SNAPSHOT_SQL)  # type: ignore[misc]
    row = None if size is None and frontier is None else (size, frontier, last_id)
    return Snapshot(row, 0 if top is None else int(top) + 1, last_leaf_id)


def read_checked_state(db: Database) -> SealedState:
    """The record, once it is found to agree with the stored leaves; else StateInconsistent."""
    snapshot = read_snapshot(db)
    reason = snapshot.inconsistency()
    if reason is not None:
        raise StateInconsistent(reason)
    return snapshot.state()


def read_state(db: Database) -> SealedState:
    """The record as stored (StateInconsistent when it cannot be read)."""
    row = db.fetchone("SELECT tree_size, frontier, last_notification_id FROM merkle_state WHERE id = 1")
    return Snapshot(row, 0, None).state()  # type: ignore[arg-type]


def sealed_position(db: Database) -> int:
    """The last sealed notification id as the record says (0 when it has none or is garbled:
    a reader waiting for it then waits in vain, and the halted sealer says why)."""
    row = db.fetchone("SELECT last_notification_id FROM merkle_state WHERE id = 1")
    try:
        return int(row[0]) if row else 0
    except (TypeError, ValueError):
        return 0


Rows = list[tuple[int, int, bytes]]


def next_batch(state: SealedState, notifications: Sequence[Any]) -> tuple[CompactRange, Rows, Rows]:
    """The tree with `notifications` appended, their leaf rows (index, notification id, hash)
    and the interior nodes they complete (height, index, hash) that are kept (store.py)."""
    tree = CompactRange.from_state(state.tree.to_state())
    leaves: Rows = []
    nodes: Rows = []
    for notification in notifications:
        hash_ = notification_leaf_hash(notification)
        index = tree.size
        for height, node_index, node in tree.append(hash_):
            if height and height % NODE_STRIDE == 0:
                nodes.append((height, node_index, node))
        leaves.append((index, int(notification.id), hash_))
    return tree, leaves, nodes


def save_batch(
    db: Database, expected_size: int, tree: CompactRange, last_id: int,
    leaves: list[tuple[int, int, bytes]], nodes: list[tuple[int, int, bytes]],
) -> None:
    """Add `leaves` (index, notification id, hash) and `nodes` (height, index, hash) and move
    the record on to `tree` and `last_id`, if the stored tree still has `expected_size` leaves.
    Raises Overtaken when it has not, StateInconsistent when rows are stored where the record
    says none are."""
    lock_row = " FOR UPDATE" if db.dialect == "postgresql" else ""
    frontier = json.dumps(tree.to_state()["frontier"])
    had_record, writing = False, "merkle_leaves"
    try:
        with db.transaction() as cursor:
            cursor.execute(f"SELECT tree_size FROM merkle_state WHERE id = 1{lock_row}")
            row = cursor.fetchone()
            if (int(row[0]) if row else 0) != expected_size:
                raise Overtaken()
            had_record = row is not None
            cursor.executemany(
                "INSERT INTO merkle_leaves (leaf_index, notification_id, leaf_hash) "
                "VALUES (%s, %s, %s)",
                leaves,
            )
            if nodes:
                writing = "merkle_nodes"
                cursor.executemany(
                    "INSERT INTO merkle_nodes (height, node_index, node_hash) VALUES (%s, %s, %s)",
                    nodes,
                )
            if row:
                cursor.execute(
                    "UPDATE merkle_state SET tree_size = %s, last_notification_id = %s, "
                    "frontier = %s WHERE id = 1",
                    (tree.size, last_id, frontier),
                )
            else:
                cursor.execute(
                    "INSERT INTO merkle_state (id, tree_size, last_notification_id, frontier) "
                    "VALUES (1, %s, %s, %s)",
                    (tree.size, last_id, frontier),
                )
    except (sqlite3.IntegrityError, psycopg.IntegrityError) as error:
        if not had_record:
            # Two first-ever sealers can both find no state row; the loser hits the keys.
            raise Overtaken() from error
        # The record was read under its lock and matched: these rows are not another sealer's.
        raise StateInconsistent(
            f"sealing positions {expected_size}..{tree.size - 1} (event ids up to {last_id}) "
            f"found rows already in {writing} that merkle_state says are not sealed yet"
        ) from error
