"""Known-answer and property tests for projections.merkle_log.rfc9162 (RFC 9162 §2.1).

The JSON vectors in tests/data/rfc9162 come from transparency-dev/merkle (see the README there):
one case per file, hashes in standard base64, "proof" may be null, and wantErr marks the cases a
correct verifier must reject.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from pathlib import Path
from typing import Any

import pytest

from projections.merkle_log import proof_paths as merkle
from projections.merkle_log.compact_range import CompactRange
from projections.merkle_log.proof_paths import consistency_proof, inclusion_proof, subtree_root
from projections.merkle_log.rfc9162 import (
    EMPTY_ROOT,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parent.parent / "data" / "rfc9162"
INCLUSION_FILES = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY_FILES = sorted((VECTORS / "consistency").rglob("*.json"))

# The eight leaf inputs used by RFC 6962 reference implementations, and the root of the first n
# of them for n = 0..8 (also listed in tests/data/rfc9162/README.md).
STANDARD_LEAVES = [
    bytes.fromhex(h)
    for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
STANDARD_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
STANDARD_HASHES = [leaf_hash(leaf) for leaf in STANDARD_LEAVES]

MAX_SIZE = 300
HASHES = [leaf_hash(b"leaf-%d" % i) for i in range(MAX_SIZE)]
ROOTS = [root_from_leaf_hashes(HASHES[:n]) for n in range(MAX_SIZE + 1)]  # ROOTS[n]: first n leaves


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(VECTORS)) for p in paths]


def _wanting(paths: list[Path], want_err: bool) -> list[Path]:
    return [p for p in paths if _load(p)["wantErr"] is want_err]


def _inclusion_args(v: dict[str, Any]) -> tuple[bytes, int, int, list[bytes], bytes]:
    return (_b64(v["leafHash"]), v["leafIdx"], v["treeSize"], [_b64(p) for p in v["proof"] or []], _b64(v["root"]))


def _consistency_args(v: dict[str, Any]) -> tuple[int, int, bytes, bytes, list[bytes]]:
    return (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), [_b64(p) for p in v["proof"] or []])


def _flip(h: bytes, bit: int = 0) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


def _sample(n: int, rng: random.Random, exhaustive_below: int, extra: int) -> list[int]:
    """All of range(n) for small n, else the edges, the power-of-two boundaries and a few random."""
    if n <= exhaustive_below:
        return list(range(n))
    powers = [1 << b for b in range(1, n.bit_length()) if 1 << b < n]
    picks = {0, 1, n // 2, n - 2, n - 1} | set(powers[-2:]) | {p - 1 for p in powers[-2:]}
    picks |= {rng.randrange(n) for _ in range(extra)}
    return sorted(picks)


# --- the upstream vectors -----------------------------------------------------------------------


def test_the_vector_folders_were_copied_in_full() -> None:
    assert (VECTORS / "README.md").is_file() and (VECTORS / "LICENSE").is_file()
    assert len(INCLUSION_FILES) == 98 and len(CONSISTENCY_FILES) == 98
    assert len(_wanting(INCLUSION_FILES, False)) == 6 and len(_wanting(CONSISTENCY_FILES, False)) == 6


@pytest.mark.parametrize("path", _wanting(INCLUSION_FILES, False), ids=_ids(_wanting(INCLUSION_FILES, False)))
def test_every_happy_path_inclusion_vector_verifies(path: Path) -> None:
    assert verify_inclusion(*_inclusion_args(_load(path))) is True


@pytest.mark.parametrize("path", _wanting(INCLUSION_FILES, True), ids=_ids(_wanting(INCLUSION_FILES, True)))
def test_every_bad_inclusion_vector_is_rejected(path: Path) -> None:
    try:
        args = _inclusion_args(_load(path))
    except (binascii.Error, ValueError):
        return  # undecodable garbage counts as rejected, and this vector expects rejection
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize("path", _wanting(CONSISTENCY_FILES, False), ids=_ids(_wanting(CONSISTENCY_FILES, False)))
def test_every_happy_path_consistency_vector_verifies(path: Path) -> None:
    assert verify_consistency(*_consistency_args(_load(path))) is True


@pytest.mark.parametrize("path", _wanting(CONSISTENCY_FILES, True), ids=_ids(_wanting(CONSISTENCY_FILES, True)))
def test_every_bad_consistency_vector_is_rejected(path: Path) -> None:
    try:
        args = _consistency_args(_load(path))
    except (binascii.Error, ValueError):
        return
    assert verify_consistency(*args) is False


def test_our_generators_reproduce_the_upstream_happy_path_proofs_exactly() -> None:
    # Numbered folders are built over the eight standard leaves; "single-entry" and "additional"
    # use made-up hashes, so they are not regenerated.
    checked = 0
    for path in _wanting(INCLUSION_FILES, False):
        v = _load(path)
        if path.parent.name.isdigit():
            leaf, index, size, proof, root = _inclusion_args(v)
            assert STANDARD_HASHES[index] == leaf and root_from_leaf_hashes(STANDARD_HASHES[:size]) == root
            assert inclusion_proof(index, size, STANDARD_HASHES) == proof, path
            checked += 1
    for path in _wanting(CONSISTENCY_FILES, False):
        v = _load(path)
        if path.parent.name.isdigit():
            first, second, _, _, proof = _consistency_args(v)
            assert consistency_proof(first, second, STANDARD_HASHES) == proof, path
            checked += 1
    assert checked == 10


# --- known answers ------------------------------------------------------------------------------


def test_the_rfc_6962_standard_leaves_give_the_well_known_roots_for_sizes_0_to_8() -> None:
    tree = CompactRange()
    assert tree.root().hex() == STANDARD_ROOTS[0] == EMPTY_ROOT.hex()
    for n in range(1, 9):
        tree.append(STANDARD_HASHES[n - 1])
        assert root_from_leaf_hashes(STANDARD_HASHES[:n]).hex() == STANDARD_ROOTS[n]
        assert tree.root().hex() == STANDARD_ROOTS[n]


def test_leaf_and_node_hashes_use_the_rfc_domain_separation_prefixes() -> None:
    assert leaf_hash(b"").hex() == STANDARD_ROOTS[1]  # a one-leaf tree's root is its leaf hash
    assert node_hash(STANDARD_HASHES[0], STANDARD_HASHES[1]).hex() == STANDARD_ROOTS[2]
    assert root_from_leaf_hashes([]) == EMPTY_ROOT


# --- every tree size up to 300 ------------------------------------------------------------------


def test_compact_range_root_equals_the_recursive_root_after_every_append_up_to_300() -> None:
    tree = CompactRange()
    for n in range(1, MAX_SIZE + 1):
        tree.append(HASHES[n - 1])
        assert tree.size == n
        assert len(tree.frontier) == bin(n).count("1")
        assert tree.root() == ROOTS[n]


def test_inclusion_proofs_verify_for_every_size_1_to_300_and_tampering_is_rejected() -> None:
    rng = random.Random(9162)
    checked = 0
    for size in range(1, MAX_SIZE + 1):
        root = ROOTS[size]
        for index in _sample(size, rng, exhaustive_below=32, extra=3):
            leaf = HASHES[index]
            path = inclusion_proof(index, size, HASHES)
            assert verify_inclusion(leaf, index, size, path, root), (index, size)
            checked += 1
            # Wrong root, wrong leaf, wrong index, and a flipped bit in every path element.
            assert not verify_inclusion(leaf, index, size, path, _flip(root))
            assert not verify_inclusion(_flip(leaf, 7), index, size, path, root)
            for other in {(index + 1) % size, index ^ 1, size} - {index}:
                assert not verify_inclusion(leaf, other, size, path, root), (index, other, size)
            for i in range(len(path)):
                bad = path[:i] + [_flip(path[i], i % 8)] + path[i + 1 :]
                assert not verify_inclusion(leaf, index, size, bad, root)
            # Proofs one element too short or too long.
            if path:
                assert not verify_inclusion(leaf, index, size, path[:-1], root)
            assert not verify_inclusion(leaf, index, size, path + [HASHES[0]], root)
    assert checked > 2500


def test_consistency_proofs_verify_for_every_second_size_1_to_300_and_tampering_is_rejected() -> None:
    rng = random.Random(6962)
    checked = 0
    for second in range(1, MAX_SIZE + 1):
        for first in _sample(second + 1, rng, exhaustive_below=32, extra=3):
            if first == 0:
                continue
            proof = consistency_proof(first, second, HASHES)
            r1, r2 = ROOTS[first], ROOTS[second]
            assert verify_consistency(first, second, r1, r2, proof), (first, second)
            checked += 1
            if first == second:
                assert proof == []
                assert not verify_consistency(first, second, r1, _flip(r2), proof)
                continue
            assert not verify_consistency(first, second, r2, r1, proof)  # swapped roots
            assert not verify_consistency(first, second, _flip(r1), r2, proof)
            assert not verify_consistency(first, second, r1, _flip(r2), proof)
            assert not verify_consistency(first, second, r1, r2, proof[:-1])
            assert not verify_consistency(first, second, r1, r2, proof + [HASHES[0]])
            for i in range(len(proof)):
                bad = proof[:i] + [_flip(proof[i], i % 8)] + proof[i + 1 :]
                assert not verify_consistency(first, second, r1, r2, bad)
    assert checked > 2500


def test_consistency_from_size_zero_has_an_empty_proof_that_the_verifier_rejects_by_policy() -> None:
    assert consistency_proof(0, 5, HASHES) == []
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


# --- proof sources and argument checking --------------------------------------------------------


def test_proofs_can_be_built_from_a_range_reader_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(merkle, "_READ_CHUNK", 7)
    calls: list[tuple[int, int]] = []

    def get_range(start: int, end: int) -> list[bytes]:
        calls.append((start, end))
        return HASHES[start:end]

    assert inclusion_proof(37, 100, get_range) == inclusion_proof(37, 100, HASHES)
    assert consistency_proof(37, 100, get_range) == consistency_proof(37, 100, HASHES)
    assert subtree_root(get_range, 0, 100) == ROOTS[100]
    assert max(end - start for start, end in calls) <= 7


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inclusion_proof(5, 5, HASHES), "outside"),
        (lambda: inclusion_proof(-1, 5, HASHES), "outside"),
        (lambda: inclusion_proof(0, 0, HASHES), "outside"),
        (lambda: inclusion_proof(0, MAX_SIZE + 1, HASHES), "exceeds"),
        (lambda: inclusion_proof(0, 10, lambda s, e: HASHES[s:e][:-1]), "returned"),
        (lambda: consistency_proof(6, 5, HASHES), "first <= second"),
        (lambda: consistency_proof(-1, 5, HASHES), "first <= second"),
        (lambda: consistency_proof(1, MAX_SIZE + 1, HASHES), "exceeds"),
        (lambda: subtree_root(HASHES, 3, 2), "invalid range"),
    ],
    ids=[
        "index-equals-size",
        "negative-index",
        "empty-tree",
        "inclusion-size-beyond-leaves",
        "short-range-reader",
        "first-beyond-second",
        "negative-first",
        "consistency-size-beyond-leaves",
        "reversed-range",
    ],
)
def test_proof_generators_raise_value_error_for_out_of_range_arguments(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    "args",
    [
        (None, 0, 1, [], ROOTS[1]),
        ("not bytes", 0, 1, [], ROOTS[1]),
        (HASHES[0], "0", 1, [], ROOTS[1]),
        (HASHES[0], True, 2, [HASHES[1]], ROOTS[2]),
        (HASHES[0], -1, 1, [], ROOTS[1]),
        (HASHES[0], 0, 2, None, ROOTS[2]),
        (HASHES[0], 0, 2, "ab", ROOTS[2]),
        (HASHES[0], 0, 2, [HASHES[1].hex()], ROOTS[2]),
        (HASHES[0], 0, 1, [], None),
        (HASHES[0], 2**70, 2**71, [], ROOTS[1]),
    ],
)
def test_verify_inclusion_returns_false_instead_of_raising_on_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize(
    "args",
    [
        (1, 2, None, ROOTS[2], [HASHES[1]]),
        (1, 2, ROOTS[1], "root", [HASHES[1]]),
        ("1", 2, ROOTS[1], ROOTS[2], [HASHES[1]]),
        (1, 2, ROOTS[1], ROOTS[2], None),
        (1, 2, ROOTS[1], ROOTS[2], [None]),
        (1, 2, ROOTS[1], ROOTS[2], [HASHES[1][:31]]),
        (-1, 2, ROOTS[1], ROOTS[2], [HASHES[1]]),
        (3, 2**80, ROOTS[3], ROOTS[4], [HASHES[1]] * 3),
    ],
)
def test_verify_consistency_returns_false_instead_of_raising_on_malformed_input(args: tuple[Any, ...]) -> None:
    assert verify_consistency(*args) is False


# --- persistence --------------------------------------------------------------------------------


def test_compact_range_state_survives_a_json_round_trip_and_keeps_producing_correct_roots() -> None:
    for stop in range(0, 70):
        tree = CompactRange()
        for h in HASHES[:stop]:
            tree.append(h)
        resumed = CompactRange.from_state(json.loads(json.dumps(tree.to_state())))
        assert resumed.size == stop and resumed.root() == ROOTS[stop]
        for n in range(stop + 1, 100):
            resumed.append(HASHES[n - 1])
            assert resumed.root() == ROOTS[n]


@pytest.mark.parametrize(
    "state",
    [
        {},
        {"size": -1, "frontier": []},
        {"size": 3, "frontier": [HASHES[0].hex()]},
        {"size": 1, "frontier": ["zz" * 32]},
        {"size": 1, "frontier": [HASHES[0].hex()[:-2]]},
        {"size": 1, "frontier": [7]},
        {"size": "1", "frontier": [HASHES[0].hex()]},
    ],
)
def test_compact_range_refuses_a_state_that_cannot_be_a_frontier(state: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CompactRange.from_state(state)


def test_compact_range_refuses_a_leaf_hash_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


def test_each_append_reports_exactly_the_perfect_subtrees_it_completes() -> None:
    tree = CompactRange()
    reported = []
    for h in HASHES[:64]:
        reported += tree.append(h)

    expected = [
        (height, index, root_from_leaf_hashes(HASHES[index << height:(index + 1) << height]))
        for height in range(7)
        for index in range(64 >> height)
    ]
    assert sorted(reported) == sorted(expected)


@pytest.mark.parametrize("start", [0, 1, 5, 8, 37, 64, 100])
def test_extending_gives_the_same_tree_as_appending_one_by_one_from_any_size(start: int) -> None:
    base = CompactRange()
    for h in HASHES[:start]:
        base.append(h)
    for count in range(0, MAX_SIZE - start + 1):
        extended = CompactRange.from_state(base.to_state())
        extended.extend_unchecked(HASHES[start:start + count])
        assert extended.size == start + count
        assert extended.root() == ROOTS[start + count]
        assert len(extended.frontier) == bin(start + count).count("1")


def test_extending_in_pieces_of_every_length_gives_the_same_roots() -> None:
    for piece in range(1, 20):
        tree = CompactRange()
        for first in range(0, MAX_SIZE, piece):
            tree.extend_unchecked(HASHES[first:first + piece])
            assert tree.root() == ROOTS[tree.size]
