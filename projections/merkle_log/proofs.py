"""Serving the Merkle log: signed checkpoints and RFC 9162 proofs from the stored hashes.

Proofs are computed from `merkle_leaves` and the perfect-subtree roots in `merkle_nodes`
(`StoredTree`, below): a proof for any leaf of any tree size up to the latest checkpoint
costs O(log² n) small indexed reads and no leaf scan, however large the log grows.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput, NotFound
from projections.merkle_log.checkpoints import Checkpoint
from projections.merkle_log.proof_paths import consistency_proof, fold_leaves, inclusion_proof
from projections.merkle_log.rfc9162 import node_hash, verify_consistency, verify_inclusion
from projections.merkle_log.store import (
    NODE_STRIDE,
    checkpoint_at,
    create_tables,
    latest_checkpoint,
    leaf_hashes,
)
from projections.storage.database import Database


class TreeDamaged(Exception):
    """The stored hashes do not reproduce a signed checkpoint: `ledger verify` will say where."""


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]

    def as_json(self) -> dict[str, object]:
        return {
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
        }


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]

    def as_json(self) -> dict[str, object]:
        return {"first": self.first, "second": self.second, "path": [p.hex() for p in self.path]}


class Proofs:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.tree = StoredTree(db)
        create_tables(db)

    def checkpoint(self, tree_size: int | None = None) -> Checkpoint:
        """The latest checkpoint, or the one signed for exactly `tree_size` leaves."""
        if tree_size is None:
            latest = latest_checkpoint(self.db)
            if latest is None:
                raise NotFound("no checkpoint has been signed yet; the sealer writes the first "
                               "within seconds of the first event")
            return latest
        found = checkpoint_at(self.db, tree_size)
        if found is None:
            raise NotFound(f"no checkpoint was signed for a tree of {tree_size} leaves")
        return found

    def _latest_size(self, field: str) -> int:
        latest = latest_checkpoint(self.db)
        if latest is None:
            raise InvalidInput(field, "no checkpoint has been signed yet, so no tree can be proved")
        return latest.tree_size

    def inclusion(self, index: int, tree_size: int | None = None) -> InclusionProof:
        """Leaf `index` in the tree of the first `tree_size` leaves (default: the latest
        checkpoint's), which may be any size up to the latest checkpoint."""
        latest = self._latest_size("tree_size")
        size = latest if tree_size is None else tree_size
        if size < 1:
            raise InvalidInput("tree_size", "tree_size must be at least 1")
        if size > latest:
            raise InvalidInput("tree_size", f"tree_size {size} is beyond the latest checkpoint ({latest})")
        if index < 0:
            raise InvalidInput("index", "index must be 0 or more")
        if index >= size:
            raise InvalidInput("index", f"index {index} is not in a tree of {size} leaves (0..{size - 1})")
        leaf = leaf_hashes(self.db, index, index + 1)
        if not leaf:
            raise TreeDamaged(f"the sealed leaf at index {index} is missing")
        try:
            path = inclusion_proof(index, size, self.tree)
        except LookupError as error:
            raise TreeDamaged(str(error)) from None
        signed = checkpoint_at(self.db, size)
        # Never hand out a proof that the signed root contradicts: it would only mislead.
        if signed and not verify_inclusion(leaf[0], index, size, path, signed.root_hash):
            raise TreeDamaged(f"the stored hashes do not reproduce the checkpoint of size {size}")
        return InclusionProof(index, size, leaf[0], path)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """That the tree of `first` leaves is a prefix of the tree of `second` (default: the
        latest checkpoint's size)."""
        latest = self._latest_size("second")
        size = latest if second is None else second
        if size > latest:
            raise InvalidInput("second", f"second {size} is beyond the latest checkpoint ({latest})")
        if first < 1:
            raise InvalidInput("first", "first must be at least 1: every tree extends the empty one")
        if first > size:
            raise InvalidInput("first", f"first ({first}) must not exceed second ({size})")
        try:
            path = consistency_proof(first, size, self.tree)
        except LookupError as error:
            raise TreeDamaged(str(error)) from None
        old, new = checkpoint_at(self.db, first), checkpoint_at(self.db, size)
        if old and new and not verify_consistency(first, size, old.root_hash, new.root_hash, path):
            raise TreeDamaged(f"the stored hashes do not link the checkpoints of sizes {first} and {size}")
        return ConsistencyProof(first, size, path)


def _fold_perfect(hashes: list[bytes]) -> bytes:
    """Root of a perfect subtree given its 2**k equal-height children, left to right."""
    level = hashes
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class StoredTree:
    """A proof_paths.SubtreeSource over the stored leaves and nodes.

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
