"""Serving the Merkle log: signed checkpoints and RFC 9162 proofs from the stored hashes.

Proofs are computed from `merkle_leaves` and the perfect-subtree roots in `merkle_nodes`
(see merkle_store.StoredTree): a proof for any leaf of any tree size up to the latest checkpoint
costs O(log² n) small indexed reads and no leaf scan, however large the log grows.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput, NotFound
from projections.merkle_log.checkpoints import Checkpoint
from projections.storage.database import Database
from projections.merkle_log.rfc9162 import consistency_proof, inclusion_proof, verify_consistency, verify_inclusion
from projections.merkle_log.store import StoredTree, checkpoint_at, create_tables, latest_checkpoint, leaf_hashes


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
