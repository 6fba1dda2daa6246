"""RFC 9162 (Certificate Transparency v2) Merkle tree: hashing, incremental state and proofs.

Design §5: every stored event is one leaf of a single append-only tree. This module only deals in
*leaf hashes* (32-byte SHA-256 values); turning an event into leaf bytes belongs to the caller.

Pure Python, stdlib only, so the verifier can be copied into an auditor's environment unchanged.

Layout:
  * hashing primitives (§2.1.1): `leaf_hash`, `node_hash`, `EMPTY_ROOT`, `root_from_leaf_hashes`;
  * `CompactRange`: O(log n) incremental state for the sealer, persistable as JSON;
  * proof generators (§2.1.3.1, §2.1.4.1) that read leaf hashes through a range reader, or ask
    a `SubtreeSource` for subtree roots, so a server never has to hold the whole tree in memory;
  * verifiers (§2.1.3.2, §2.1.4.2) that follow the RFC algorithms step by step and answer
    False, never raise, for malformed input (they are fed untrusted data).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from typing import Any, Protocol, Union, runtime_checkable

HASH_SIZE = 32

_sha256 = hashlib.sha256

# RFC 9162 domain separation: a leaf is hashed after 0x00, an interior node after 0x01.
LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"

# MTH({}) = SHA-256() (§2.1.1): the empty tree has no leaves and so no domain-separation prefix.
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

# Proof generators accept the leaf hashes themselves, a reader `get_range(start, end)` returning
# the leaf hashes for [start, end) - e.g. a database query - so large trees stay on disk, or a
# `SubtreeSource` that can answer subtree roots directly (e.g. from stored interior nodes).
RangeReader = Callable[[int, int], Sequence[bytes]]


@runtime_checkable
class SubtreeSource(Protocol):
    def subtree_root(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for 0 <= start < end <= the tree size asked about."""


LeafSource = Union[Sequence[bytes], RangeReader, SubtreeSource]

# A perfect subtree completed by an append: (height, index among subtrees of that height, hash).
# Height 0 is the leaf itself; the subtree covers leaves [index << height, (index + 1) << height).
Node = tuple[int, int, bytes]

# How many leaf hashes to ask a reader for at once while folding a subtree: bounds memory use.
_READ_CHUNK = 4096


# --- hashing (§2.1.1) ---------------------------------------------------------------------------


def leaf_hash(leaf_bytes: bytes) -> bytes:
    """SHA-256(0x00 || leaf). The 0x00/0x01 prefixes stop a leaf posing as an interior node."""
    return _sha256(LEAF_PREFIX + leaf_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2): where §2.1.1 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by the literal recursive definition of §2.1.1.

    Deliberately independent of `CompactRange`, so each can be used to check the other.
    Recursion depth is only log2(n) because every split halves at a power of two.
    """

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return hashes[lo]
        mid = lo + _split(hi - lo)
        return node_hash(mth(lo, mid), mth(mid, hi))

    return mth(0, len(hashes)) if len(hashes) else EMPTY_ROOT


# --- incremental state --------------------------------------------------------------------------


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
        if not _is_hash(leaf_hash):
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
            while len(level) > 1:
                level = [
                    _sha256(NODE_PREFIX + left + right).digest()
                    for left, right in zip(level[::2], level[1::2])
                ]
            self._add_subtree(level[0], height)
            done += 1 << height

    def _add_subtree(self, root: bytes, height: int) -> None:
        """Add a perfect subtree of 2**height leaves; the size must be a multiple of that."""
        carry, frontier, above = root, self._frontier, self._size >> height
        while above & 1:
            carry = _sha256(NODE_PREFIX + frontier.pop() + carry).digest()  # node_hash, inlined
            above >>= 1
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
        if not _is_size(size) or not isinstance(frontier, list):
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


# --- proof generation ---------------------------------------------------------------------------


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
        mid = lo + _split(hi - lo)
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
        k = _split(hi - lo)
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


# --- verification (never raises) ----------------------------------------------------------------


def _is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def _is_path(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(_is_hash(p) for p in value)


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2: does `path` prove `leaf_hash` is leaf `index` of the tree of `tree_size` with `root`?"""
    # Step 1 plus input hygiene: every hash must be exactly 32 bytes, otherwise e.g. an empty
    # leaf hash would "match" an empty root in a one-leaf tree.
    if not (_is_size(index) and _is_size(tree_size) and index < tree_size):
        return False
    if not (_is_hash(leaf_hash) and _is_hash(root) and _is_path(path)):
        return False
    fn, sn, r = index, tree_size - 1, bytes(leaf_hash)
    for p in path:
        if sn == 0:  # more path than tree: reject extended proofs
            return False
        if fn & 1 or fn == sn:  # we are a right child, or the last node on a level without sibling
            r = node_hash(p, r)
            while fn and not fn & 1:  # climb past levels where we had no right sibling
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> bool:
    """§2.1.4.2: does `path` prove the tree (`first`, `first_root`) is a prefix of
    (`second`, `second_root`)?

    Policy (matches the transparency-dev vectors): first == 0 is always rejected, since there
    is no earlier head to check; first == second needs an empty path and identical roots.
    """
    if not (_is_size(first) and _is_size(second) and _is_path(path)):
        return False
    if not isinstance(first_root, (bytes, bytearray)) or not isinstance(second_root, (bytes, bytearray)):
        return False
    if first == 0 or first > second:
        return False
    if first == second:
        # Nothing is hashed here, so the roots are only compared (not length-checked): the
        # upstream vector "sizes are equal (one) and proof is empty" expects acceptance.
        return len(path) == 0 and hmac.compare_digest(first_root, second_root)
    if len(path) == 0:  # step 1
        return False
    if not (_is_hash(first_root) and _is_hash(second_root)):
        return False
    nodes = [bytes(p) for p in path]
    if first & (first - 1) == 0:  # step 2: a power-of-two old tree is a node the verifier holds
        nodes.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1  # step 3
    while fn & 1:  # step 4: skip the levels where the old tree's last node is a right child
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]  # step 5
    for c in nodes[1:]:  # step 6
        if sn == 0:
            return False
        if fn & 1 or fn == sn:  # c is a left sibling, shared by both trees
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:  # c is a right sibling, only in the new tree
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    # Step 7: both roots reproduced and the whole new tree consumed.
    return sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)
