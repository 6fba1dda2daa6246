"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, and the verification of its proofs.

Design §5: every stored event is one leaf of a single append-only tree. This module only deals in
*leaf hashes* (32-byte SHA-256 values); turning an event into leaf bytes belongs to the caller.

Pure Python, stdlib only, and nothing else of the ledger: an auditor can copy this one file into
their own environment unchanged and check the ledger's proofs with it.

  * hashing primitives (§2.1.1): `leaf_hash`, `node_hash`, `EMPTY_ROOT`, `root_from_leaf_hashes`;
  * verifiers (§2.1.3.2, §2.1.4.2) that follow the RFC algorithms step by step and answer
    False, never raise, for malformed input (they are fed untrusted data).

The sealer's incremental state is `compact_range.py`; building proofs is `proof_paths.py`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HASH_SIZE = 32

# RFC 9162 domain separation: a leaf is hashed after 0x00, an interior node after 0x01.
LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"

# MTH({}) = SHA-256() (§2.1.1): the empty tree has no leaves and so no domain-separation prefix.
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


# --- hashing (§2.1.1) ---------------------------------------------------------------------------


def leaf_hash(leaf_bytes: bytes) -> bytes:
    """SHA-256(0x00 || leaf). The 0x00/0x01 prefixes stop a leaf posing as an interior node."""
    return _sha256(LEAF_PREFIX + leaf_bytes).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
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
        mid = lo + split_point(hi - lo)
        return node_hash(mth(lo, mid), mth(mid, hi))

    return mth(0, len(hashes)) if len(hashes) else EMPTY_ROOT



# --- verification (never raises) ----------------------------------------------------------------


def is_size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def is_hash(value: object) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == HASH_SIZE


def is_path(value: object) -> bool:
    return isinstance(value, (list, tuple)) and all(is_hash(p) for p in value)


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, path: Sequence[bytes], root: bytes) -> bool:
    """§2.1.3.2: does `path` prove `leaf_hash` is leaf `index` of the tree of `tree_size` with `root`?"""
    # Step 1 plus input hygiene: every hash must be exactly 32 bytes, otherwise e.g. an empty
    # leaf hash would "match" an empty root in a one-leaf tree.
    if not (is_size(index) and is_size(tree_size) and index < tree_size):
        return False
    if not (is_hash(leaf_hash) and is_hash(root) and is_path(path)):
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
    if not (is_size(first) and is_size(second) and is_path(path)):
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
    if not (is_hash(first_root) and is_hash(second_root)):
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
