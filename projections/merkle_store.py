"""The Merkle log's tables, and reading them back.

  merkle_leaves       one row per sealed event: leaf_index (0-based, contiguous), the event's
                      notification_id, and its leaf_hash
  merkle_nodes        roots of complete perfect subtrees whose height is a multiple of
                      NODE_STRIDE (16, 256, 4096, ... leaves): a cache that makes proofs cheap
  merkle_state        one row: the tree's size, the last sealed notification id and the
                      CompactRange frontier, written in the same transaction as the leaves
  merkle_checkpoints  signed (tree_size, root_hash, timestamp, signature), one per tree size

Only the sealer writes them; proofs, `ledger verify` and the audit API read them.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

from projections.checkpoints import Checkpoint
from projections.database import Database
from projections.merkle import CompactRange, fold_leaves, node_hash

# Heights 4, 8, 12, ...: about one stored node per 15 leaves, and any perfect subtree root is a
# fold of at most 2**(NODE_STRIDE - 1) = 8 stored rows (or 15 leaves below height 4).
NODE_STRIDE = 4


_prepared: weakref.WeakSet[object] = weakref.WeakSet()


def create_tables(db: Database) -> None:
    """Idempotent; runs the DDL once per Database object (readers call it on every request)."""
    if db in _prepared:
        return
    big, blob = db.big_int, db.blob
    db.executescript(f"""
        CREATE TABLE IF NOT EXISTS merkle_leaves (
            leaf_index {big} PRIMARY KEY,
            notification_id {big} NOT NULL UNIQUE,
            leaf_hash {blob} NOT NULL
        );
        CREATE TABLE IF NOT EXISTS merkle_nodes (
            height INTEGER NOT NULL,
            node_index {big} NOT NULL,
            node_hash {blob} NOT NULL,
            PRIMARY KEY (height, node_index)
        );
        CREATE TABLE IF NOT EXISTS merkle_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            tree_size {big} NOT NULL,
            last_notification_id {big} NOT NULL,
            frontier TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS merkle_checkpoints (
            tree_size {big} PRIMARY KEY,
            root_hash {blob} NOT NULL,
            timestamp TEXT NOT NULL,
            signature {blob} NOT NULL
        );
    """)
    _prepared.add(db)


# --- the sealer's own position ------------------------------------------------------------------


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


# --- leaves -------------------------------------------------------------------------------------


def leaf_hashes(db: Database, start: int, end: int) -> list[bytes]:
    """A merkle.RangeReader over the stored leaves [start, end)."""
    rows = db.fetchall(
        "SELECT leaf_hash FROM merkle_leaves WHERE leaf_index >= %s AND leaf_index < %s "
        "ORDER BY leaf_index",
        (start, end),
    )
    return [bytes(row[0]) for row in rows]


def iter_leaves(
    db: Database, end: int | None = None, chunk: int = 2000
) -> Iterator[tuple[int, int, bytes]]:
    """(leaf_index, notification_id, leaf_hash) in leaf order, read in keyset chunks so memory
    stays flat however long the log is."""
    after = -1
    while True:
        if end is None:
            rows = db.fetchall(
                "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves "
                "WHERE leaf_index > %s ORDER BY leaf_index LIMIT %s",
                (after, chunk),
            )
        else:
            rows = db.fetchall(
                "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves "
                "WHERE leaf_index > %s AND leaf_index < %s ORDER BY leaf_index LIMIT %s",
                (after, end, chunk),
            )
        for index, notification_id, hash_ in rows:
            yield int(index), int(notification_id), bytes(hash_)
        if len(rows) < chunk:
            return
        after = int(rows[-1][0])


def leaves_for_notifications(db: Database, first_id: int, last_id: int) -> dict[int, tuple[int, bytes]]:
    """notification_id → (leaf_index, leaf_hash) for sealed events with ids in [first_id, last_id]."""
    rows = db.fetchall(
        "SELECT notification_id, leaf_index, leaf_hash FROM merkle_leaves "
        "WHERE notification_id >= %s AND notification_id <= %s",
        (first_id, last_id),
    )
    return {int(nid): (int(index), bytes(h)) for nid, index, h in rows}


# --- checkpoints --------------------------------------------------------------------------------


def _checkpoint(row: tuple) -> Checkpoint:
    return Checkpoint(int(row[0]), bytes(row[1]), str(row[2]), bytes(row[3]))


_CHECKPOINT_COLUMNS = "tree_size, root_hash, timestamp, signature"


def latest_checkpoint(db: Database) -> Checkpoint | None:
    row = db.fetchone(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM merkle_checkpoints ORDER BY tree_size DESC LIMIT 1"
    )
    return _checkpoint(row) if row else None


def checkpoint_at(db: Database, tree_size: int) -> Checkpoint | None:
    row = db.fetchone(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM merkle_checkpoints WHERE tree_size = %s", (tree_size,)
    )
    return _checkpoint(row) if row else None


def iter_checkpoints(db: Database, chunk: int = 1000) -> Iterator[Checkpoint]:
    """Every checkpoint, smallest tree first, in keyset chunks."""
    after = 0
    while True:
        rows = db.fetchall(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM merkle_checkpoints WHERE tree_size > %s "
            "ORDER BY tree_size LIMIT %s",
            (after, chunk),
        )
        for row in rows:
            yield _checkpoint(row)
        if len(rows) < chunk:
            return
        after = int(rows[-1][0])


# --- subtree roots from stored nodes ------------------------------------------------------------


def _fold_perfect(hashes: list[bytes]) -> bytes:
    """Root of a perfect subtree given its 2**k equal-height children, left to right."""
    level = hashes
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class StoredTree:
    """A merkle.SubtreeSource over the stored leaves and nodes.

    MTH(D[start:end]) is the fold of the perfect subtrees that the binary digits of
    (end - start) describe, largest first. When each of those is aligned (its start a multiple
    of its size, which holds for every subtree an RFC 9162 proof asks for), its root is a fold
    of at most 8 rows of `merkle_nodes` (or 15 leaves below height 4). Cost of one proof: about
    log2(n)**2 / 2 small indexed reads in the worst case, independent of how large the tree is
    beyond that; anything unaligned falls back to folding leaves in chunks, O(end - start).
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def subtree_root(self, start: int, end: int) -> bytes:
        pieces: list[tuple[int, int]] = []  # (start, height)
        position, remaining = start, end - start
        for height in range(remaining.bit_length() - 1, -1, -1):
            if remaining >> height & 1:
                if position % (1 << height):
                    return self._fold_leaves(start, end)
                pieces.append((position, height))
                position += 1 << height
        roots = [self._perfect_root(p, h) for p, h in pieces]
        acc = roots[-1]
        for root in reversed(roots[:-1]):
            acc = node_hash(root, acc)
        return acc

    def _perfect_root(self, start: int, height: int) -> bytes:
        base = height - height % NODE_STRIDE
        count = 1 << (height - base)
        if base == 0:
            hashes = leaf_hashes(self.db, start, start + count)
        else:
            first = start >> base
            rows = self.db.fetchall(
                "SELECT node_hash FROM merkle_nodes WHERE height = %s AND node_index >= %s "
                "AND node_index < %s ORDER BY node_index",
                (base, first, first + count),
            )
            hashes = [bytes(row[0]) for row in rows]
        if len(hashes) != count:
            raise LookupError(
                f"the Merkle log lacks stored hashes for [{start}, {start + (1 << height)})"
            )
        return _fold_perfect(hashes)

    def _fold_leaves(self, start: int, end: int) -> bytes:
        return fold_leaves(lambda a, b: leaf_hashes(self.db, a, b), start, end)
