"""The Merkle tree's incremental state: its size and frontier, O(log n) hashes (RFC 9162 §2.1.1).

The sealer appends every new leaf to it and saves it with each batch (sealed_state.py); `ledger
verify` rolls every stored leaf through it; proofs fold leaves with it (proof_paths.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from projections.merkle_log.rfc9162 import (
    EMPTY_ROOT,
    HASH_SIZE,
    NODE_PREFIX,
    is_hash,
    is_size,
    node_hash,
)

_sha256 = hashlib.sha256  # bound once: the hot loops below hash without a call in between

# A perfect subtree completed by an append: (height, index among subtrees of that height, hash).
# Height 0 is the leaf itself; the subtree covers leaves [index << height, (index + 1) << height).
Node = tuple[int, int, bytes]


class CompactRange:
    """Append-only tree state kept as its "frontier": the roots of the perfect subtrees that
    make up the tree, largest (leftmost) first, one per set bit of `size`.

    That is all that is needed to append and to compute the root, so the sealer keeps O(log n)
    hashes instead of n, and can persist them with `to_state()` and resume with `from_state()`.
    """

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        return tuple(self._frontier)

    def append(self, leaf_hash: bytes) -> list[Node]:
        """Add one leaf hash. Like a binary counter increment: each trailing 1 bit of the old size
        is a perfect subtree of the same height as the carry, so the two merge into one.

        Returns every perfect subtree this append completed, the leaf itself first, so a caller
        can store interior nodes for fast proofs without hashing anything twice."""
        if not is_hash(leaf_hash):
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes")
        carry, size, height = bytes(leaf_hash), self._size, 0
        completed: list[Node] = [(0, self._size, carry)]
        while size & 1:
            carry = node_hash(self._frontier.pop(), carry)
            size >>= 1
            height += 1
            completed.append((height, self._size >> height, carry))
        self._frontier.append(carry)
        self._size += 1
        return completed

    def extend_unchecked(self, leaf_hashes: Sequence[bytes]) -> None:
        """`append` of each hash, for a caller that already knows them to be 32-byte `bytes`
        (it just computed or compared them) and wants no completed subtrees: `ledger verify`
        rolls every stored leaf through here, where the per-append check, list and call were a
        fifth of its time.

        Works in perfect subtrees: the largest one that starts at the current size (a multiple
        of its width) and fits in what is left is folded a level at a time, then joins the
        frontier as one carry, as an append of a single leaf does at height 0."""
        done, count = 0, len(leaf_hashes)
        while done < count:
            size = self._size
            aligned = (size & -size).bit_length() - 1 if size else count.bit_length()
            height = min(aligned, (count - done).bit_length() - 1)
            level = leaf_hashes[done:done + (1 << height)]
            folded = 0
            while len(level) > 1:
                level = [
                    _sha256(NODE_PREFIX + left + right).digest()
                    for left, right in zip(level[::2], level[1::2])
                ]
                folded += 1
                self._completed(folded, size >> folded, level)
            self._add_subtree(level[0], height)
            done += 1 << height

    def _completed(self, height: int, first_index: int, hashes: Sequence[bytes]) -> None:
        """Told of the subtree roots at `height` that `extend_unchecked` completes, from index
        `first_index` on: nothing here; `ledger verify` compares them with the stored nodes
        (projections/audit/tree_checks.py) without folding the tree a second time."""

    def _add_subtree(self, root: bytes, height: int) -> None:
        """Add a perfect subtree of 2**height leaves; the size must be a multiple of that."""
        carry, frontier, above, start = root, self._frontier, self._size >> height, self._size
        merged = height
        while above & 1:
            carry = _sha256(NODE_PREFIX + frontier.pop() + carry).digest()  # node_hash, inlined
            above >>= 1
            merged += 1
            self._completed(merged, start >> merged, (carry,))
        frontier.append(carry)
        self._size += 1 << height

    def root(self) -> bytes:
        """MTH of all leaves so far. Folding right-to-left reproduces §2.1.1, whose left side is
        always the largest perfect subtree and whose right side is the (recursively split) rest."""
        if not self._frontier:
            return EMPTY_ROOT
        acc = self._frontier[-1]
        for subtree in reversed(self._frontier[:-1]):
            acc = node_hash(subtree, acc)
        return acc

    def to_state(self) -> dict[str, Any]:
        """JSON-friendly snapshot: {"size": int, "frontier": [hex, ...]} (leftmost subtree first)."""
        return {"size": self._size, "frontier": [h.hex() for h in self._frontier]}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CompactRange:
        """Inverse of `to_state`. Raises ValueError if the snapshot cannot be a valid frontier."""
        size, frontier = state.get("size"), state.get("frontier")
        if not is_size(size) or not isinstance(frontier, list):
            raise ValueError("state needs an int 'size' >= 0 and a list 'frontier'")
        if len(frontier) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} frontier hashes, got {len(frontier)}")
        try:
            hashes = [bytes.fromhex(h) for h in frontier]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"frontier entries must be hex strings: {exc}") from None
        if not all(len(h) == HASH_SIZE for h in hashes):
            raise ValueError(f"frontier entries must be {HASH_SIZE}-byte hashes")
        tree = cls()
        tree._size, tree._frontier = size, hashes
        return tree

