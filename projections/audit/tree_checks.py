"""`ledger verify`'s check of the stored interior nodes (`merkle_nodes`), which proofs are served from.

The leaf hashes `verify` rolls through its tree (`Rolled`) complete every perfect subtree in
turn; each one whose height is a multiple of NODE_STRIDE is a node the sealer stored, and is
compared with the stored row as it completes. The stored rows are read a height at a time, in
index order and in windows, so memory stays flat. A stored node the rebuilt tree does not
complete (a height the sealer never stores, an index beyond the sealed tree) is extra: a proof
could be served from it once the tree grows, and the sealer halts when it meets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from projections.audit.report import CHANGED, EXTRA, GARBLED, KEPT_PROBLEMS, MISSING, Problem, Report
from projections.merkle_log.compact_range import CompactRange, Node
from projections.merkle_log.store import NODE_STRIDE
from projections.storage.database import Database

NODE_WINDOW = 20_000  # node indices read per query, per height

Seen = Callable[[int, int, Sequence[bytes]], None]  # height, index of the first, their hashes


class _NodeRange(CompactRange):
    """A CompactRange that hands `seen` every node of a stored height that it completes: the
    same folding as CompactRange's, which already computes each of them once."""

    def __init__(self, seen: Seen) -> None:
        super().__init__()
        self._seen = seen

    def append(self, leaf_hash: bytes) -> list[Node]:
        completed = super().append(leaf_hash)
        for height, index, node in completed:
            if height and height % NODE_STRIDE == 0:
                self._seen(height, index, (node,))
        return completed

    def _completed(self, height: int, first_index: int, hashes: Sequence[bytes]) -> None:
        if height % NODE_STRIDE == 0:
            self._seen(height, first_index, hashes)


class Rolled:
    """The stored leaf hashes rolled through a tree that checks the stored nodes on the way.
    Those just found equal to their recomputed hash (so well-formed) wait in `matched` and go
    in together, by the cheaper `extend_unchecked`, whenever the tree is looked at or another
    hash is added; any other stored value goes through the checked `append`."""

    def __init__(self, nodes: StoredNodes) -> None:
        self._tree = _NodeRange(nodes.check)
        self.matched: list[bytes] = []

    def tree(self) -> CompactRange:
        if self.matched:
            self._tree.extend_unchecked(self.matched)
            self.matched.clear()  # the same list: callers hold its bound `append`
        return self._tree

    def append_checked(self, stored: bytes) -> bool:
        """False when the stored value cannot be a leaf hash at all (garbled)."""
        try:
            self.tree().append(stored)
        except (ValueError, TypeError):
            return False
        return True


def _where(height: int, index: int) -> str:
    first = index << height
    return (f"merkle_nodes height {height} index {index} "
            f"(positions {first}..{first + (1 << height) - 1})")


class _Height:
    """The stored nodes of one height below `end`, in index order, a window at a time."""

    def __init__(self, db: Database, height: int, end: int) -> None:
        self.db, self.height, self.end = db, height, end
        self.read_to = 0  # every stored index below this is in `indices`
        self.indices: list[int] = []
        self.hashes: list[bytes] = []
        self.at = 0

    def _read_through(self, index: int) -> None:
        while self.read_to <= index and self.read_to < self.end:
            upto = min(self.read_to + NODE_WINDOW, self.end)
            rows = self.db.fetchall(
                "SELECT node_index, node_hash FROM merkle_nodes WHERE height = %s AND "
                "node_index >= %s AND node_index < %s ORDER BY node_index",
                (self.height, self.read_to, upto),
            )
            self.indices = self.indices[self.at:] + [int(row[0]) for row in rows]
            self.hashes = self.hashes[self.at:] + [row[1] for row in rows]
            self.at, self.read_to = 0, upto

    def check(self, first: int, computed: Sequence[bytes], report: list[Problem]) -> None:
        last = first + len(computed) - 1
        self._read_through(last)
        at, indices = self.at, self.indices
        # Indices rise without repeats, so a run whose ends match is the run itself.
        if (at + len(computed) <= len(indices) and indices[at] == first
                and indices[at + len(computed) - 1] == last
                and self.hashes[at:at + len(computed)] == list(computed)):
            self.at += len(computed)
            return
        for index, node in enumerate(computed, start=first):
            while self.at < len(indices) and indices[self.at] < index:
                self.at += 1
            if self.at < len(indices) and indices[self.at] == index:
                stored = self.hashes[self.at]
                self.at += 1
                if stored != node:
                    report.append(Problem(
                        CHANGED, index << self.height, None,
                        f"the stored node is {bytes(stored).hex()[:16]}..., but the stored "
                        f"leaves below it hash to {node.hex()[:16]}...: proofs served from it fail",
                        where=_where(self.height, index),
                    ))
            else:
                report.append(Problem(
                    MISSING, index << self.height, None,
                    "the sealer stored this node and it is gone (row deleted): proofs through it fail",
                    where=_where(self.height, index),
                ))


class StoredNodes:
    """Every stored node the rebuilt tree completes within the first `bound` leaves, checked."""

    def __init__(self, db: Database, bound: int, report: Report) -> None:
        self.db, self.bound, self.report = db, bound, report
        self._heights: dict[int, _Height] = {}
        self._found: list[Problem] = []  # held until the checkpoints over them are checked

    def check(self, height: int, first: int, computed: Sequence[bytes]) -> None:
        stream = self._heights.get(height)
        if stream is None:
            stream = self._heights[height] = _Height(self.db, height, self.bound >> height)
        stream.check(first, computed, self._found)
        if len(self._found) > KEPT_PROBLEMS:
            self.report.problem_count += len(self._found) - KEPT_PROBLEMS
            del self._found[KEPT_PROBLEMS:]

    def explained_by(self, start: int, size: int) -> None:
        """A signed root over positions start..size-1 failed: a node there that differs from
        the leaves still holds what was sealed, so that root's failure comes first."""
        self._found = [
            replace(p, position=size - 1, detail=p.detail + " (the node keeps what was sealed: "
                    "the leaves below it were rewritten)")
            if p.kind == CHANGED and start <= p.position < size else p
            for p in self._found
        ]

    def report_found(self) -> None:
        for problem in self._found:
            self.report.add(problem)
        self._found = []

    def check_extra(self, leaves_now: Callable[[], int]) -> None:
        """The stored nodes no checked tree completes. One beyond the checked tree may have been
        sealed since it was read: it is extra only beyond the leaves stored now (`leaves_now`)."""
        rows = self.db.fetchall(
            "SELECT height, MIN(node_index), MAX(node_index) FROM merkle_nodes GROUP BY height"
        )
        now = None
        for height, lowest, highest in sorted(rows):
            height, lowest, highest = int(height), int(lowest), int(highest)
            if height <= 0 or height % NODE_STRIDE or height > 62 or lowest < 0:
                self._extra(height, lowest, "the sealer never stores a node there")
                continue
            if (highest + 1) << height <= self.bound:
                continue
            now = leaves_now() if now is None else now
            beyond = self.db.fetchone(
                "SELECT MIN(node_index) FROM merkle_nodes WHERE height = %s AND node_index >= %s",
                (height, now >> height),
            )
            if beyond is not None and beyond[0] is not None:
                self._extra(height, int(beyond[0]), f"the sealed tree holds only {now} leaves")

    def _extra(self, height: int, index: int, why: str) -> None:
        position = index << height if 0 < height <= 62 and index >= 0 else 0
        where = (_where(height, index) if 0 < height <= 62 and index >= 0
                 else f"merkle_nodes height {height} index {index}")
        self.report.add(Problem(
            EXTRA, position, None,
            f"a node is stored where the sealed tree has none ({why}): a row was inserted",
            where=where,
        ))


def readable(
    chunks: Iterator[list[tuple[int, int, bytes]]], report: Report, at: Callable[[], int]
) -> Iterator[list[tuple[int, int, bytes]]]:
    """The leaf rows until one cannot be read as (index, id, hash): then a problem, and no more."""
    try:
        yield from chunks
    except (ValueError, TypeError) as error:
        report.add(Problem(
            GARBLED, at(), None, f"a stored leaf row cannot be read ({error}); the rest is unchecked",
            where=f"merkle_leaves from position {at()}",
        ))


def rolls(rolled: Rolled, stored: bytes, index: int, report: Report) -> bool:
    """Add a stored leaf hash to the tree; False (and a problem) when it is no hash at all."""
    if rolled.append_checked(stored):
        return True
    report.add(Problem(GARBLED, index, None, f"the stored leaf hash is not a 32-byte hash: "
                       f"{stored!r:.40}; later roots cannot be recomputed",
                       where=f"merkle_leaves position {index}"))
    return False
