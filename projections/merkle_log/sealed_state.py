"""The sealer's tracking record: how far it has sealed, saved with what it sealed.

`merkle_state` (one row) holds the tree's size, its CompactRange frontier and the last sealed
notification id. A batch's leaves, the interior nodes it completes and that row are written in
ONE transaction, guarded by the tree size read (on PostgreSQL, locked) inside it. That makes the
sealer a tracked consumer of the log as the read models are (their record is
`projection_tracking`): a crash or a second sealer never loses or doubles a leaf, and a restart
resumes from this record.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

import psycopg

from projections.merkle_log.compact_range import CompactRange
from projections.storage.database import Database


class Overtaken(Exception):
    """Another sealer wrote first: our view of the tree is stale."""


@dataclass
class SealedState:
    tree: CompactRange
    last_notification_id: int  # 0 before the first leaf: every stored id is above it


def read_state(db: Database) -> SealedState:
    row = db.fetchone("SELECT tree_size, frontier, last_notification_id FROM merkle_state WHERE id = 1")
    if row is None:
        return SealedState(CompactRange(), 0)
    tree = CompactRange.from_state({"size": int(row[0]), "frontier": json.loads(row[1])})
    return SealedState(tree, int(row[2]))


def save_batch(
    db: Database, expected_size: int, tree: CompactRange, last_id: int,
    leaves: list[tuple[int, int, bytes]], nodes: list[tuple[int, int, bytes]],
) -> None:
    """Add `leaves` (index, notification id, hash) and `nodes` (height, index, hash) and move
    the record on to `tree` and `last_id`, if the stored tree still has `expected_size` leaves.
    Raises Overtaken when it has not."""
    lock_row = " FOR UPDATE" if db.dialect == "postgresql" else ""
    frontier = json.dumps(tree.to_state()["frontier"])
    try:
        with db.transaction() as cursor:
            cursor.execute(f"SELECT tree_size FROM merkle_state WHERE id = 1{lock_row}")
            row = cursor.fetchone()
            if (int(row[0]) if row else 0) != expected_size:
                raise Overtaken()
            cursor.executemany(
                "INSERT INTO merkle_leaves (leaf_index, notification_id, leaf_hash) "
                "VALUES (%s, %s, %s)",
                leaves,
            )
            if nodes:
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
        # Two first-ever sealers can both find no state row; the loser hits the keys.
        raise Overtaken() from error
