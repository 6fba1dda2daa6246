"""Building RFC 9162 proofs: inclusion paths (§2.1.3.1) and consistency proofs (§2.1.4.1).

The generators read leaf hashes through a range reader, or ask a `SubtreeSource` for subtree
roots, so a server never has to hold the whole tree in memory (proofs.py serves them from the
stored tree). Checking a proof is rfc9162.py's, which an auditor can copy on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, Union, runtime_checkable

from projections.merkle_log.compact_range import CompactRange
from projections.merkle_log.rfc9162 import EMPTY_ROOT, split_point

# Proof generators accept the leaf hashes themselves, a reader `get_range(start, end)` returning
# the leaf hashes for [start, end) - e.g. a database query - so large trees stay on disk, or a
# `SubtreeSource` that can answer subtree roots directly (e.g. from stored interior nodes).
RangeReader = Callable[[int, int], Sequence[bytes]]


@runtime_checkable
class SubtreeSource(Protocol):
    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= the tree size asked about."""


LeafSource = Union[Sequence[bytes], RangeReader, SubtreeSource]

# How many leaf hashes to ask a reader for at once while folding a subtree: bounds memory use.
_READ_CHUNK = 4096


def _reader(leaves: Sequence[bytes] | RangeReader, tree_size: int) -> RangeReader:
    """Normalise a leaf source to a range reader that is checked to return what was asked for."""
    if callable(leaves):
        get_range: RangeReader = leaves
    else:
        if tree_size > len(leaves):
            raise ValueError(f"tree_size {tree_size} exceeds the {len(leaves)} leaf hashes available")
        seq = leaves

        def get_range(start: int, end: int) -> Sequence[bytes]:
            return seq[start:end]

    def checked(start: int, end: int) -> Sequence[bytes]:
        got = get_range(start, end)
        if len(got) != end - start:
            raise ValueError(f"leaf source returned {len(got)} hashes for [{start}, {end})")
        return got

    return checked


SubtreeRoot = Callable[[int, int], bytes]


def fold_leaves(read: RangeReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) by streaming the leaf hashes through a fresh compact range.

    A compact range started empty yields MTH of exactly the leaves appended to it, whatever
    their absolute position, so this costs O(end - start) hashes and reads but only
    O(chunk + log n) memory."""
    acc = CompactRange()
    for chunk_start in range(start, end, _READ_CHUNK):
        for h in read(chunk_start, min(chunk_start + _READ_CHUNK, end)):
            acc.append(h)
    return acc.root()


def _roots(leaves: LeafSource, tree_size: int) -> SubtreeRoot:
    """How the proof generators get subtree roots: straight from a SubtreeSource (which may
    use stored interior nodes), else by folding leaf hashes."""
    if isinstance(leaves, SubtreeSource):
        return leaves.subtree_root
    read = _reader(leaves, tree_size)
    return lambda start, end: fold_leaves(read, start, end)


def subtree_root(leaves: LeafSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]) over a leaf source (EMPTY_ROOT when start == end)."""
    if not 0 <= start <= end:
        raise ValueError(f"invalid range [{start}, {end})")
    if start == end:
        return EMPTY_ROOT
    return _roots(leaves, end)(start, end)


def inclusion_proof(index: int, tree_size: int, leaves: LeafSource) -> list[bytes]:
    """PATH(index, D[tree_size]) of §2.1.3.1: sibling subtree roots, nearest the leaf first."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} is outside a tree of size {tree_size}")
    root_of = _roots(leaves, tree_size)
    path: list[bytes] = []
    lo, hi = 0, tree_size  # the subtree D[lo:hi] that still contains the leaf
    while hi - lo > 1:
        mid = lo + split_point(hi - lo)
        if index < mid:
            path.append(root_of(mid, hi))
            hi = mid
        else:
            path.append(root_of(lo, mid))
            lo = mid
    # We descended from the root, but the RFC lists the path from the leaf upwards.
    path.reverse()
    return path


def consistency_proof(first: int, second: int, leaves: LeafSource) -> list[bytes]:
    """PROOF(first, D[second]) = SUBPROOF(first, D[second], true) of §2.1.4.1.

    Returns [] when first == second (nothing to prove) and when first == 0: every tree extends
    the empty tree, so there is nothing to send - note `verify_consistency` rejects first == 0
    by policy, because a client holding no earlier tree head has nothing to check.
    """
    if not 0 <= first <= second:
        raise ValueError(f"need 0 <= first <= second, got first={first}, second={second}")
    root_of = _roots(leaves, second)
    if first == 0 or first == second:
        return []
    proof: list[bytes] = []
    lo, hi, m, whole = 0, second, first, True  # evaluating SUBPROOF(m, D[lo:hi], whole)
    while m != hi - lo:
        k = split_point(hi - lo)
        if m <= k:  # the old tree lies inside the left subtree: prove it there, send the right
            proof.append(root_of(lo + k, hi))
            hi = lo + k
        else:  # the left subtree is shared by both trees: send it and recurse right
            proof.append(root_of(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    # SUBPROOF(m, D[m], b): the verifier already knows this node only if it is the whole old tree.
    if not whole:
        proof.append(root_of(lo, hi))
    proof.reverse()  # the RFC's recursion emits the innermost node first
    return proof
