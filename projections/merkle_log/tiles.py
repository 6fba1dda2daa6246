"""The Merkle log as C2SP tlog-tiles (https://c2sp.org/tlog-tiles): hash tiles and entry bundles.

A tile at level L, index N and width W (256 when full) holds the hashes

    MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])   for i in [0, W)

so level 0 is the leaf hashes and level L > 0 the roots of perfect subtrees of height 8L,
which `merkle_nodes` keeps (heights multiple of NODE_STRIDE = 4). An entry bundle is the leaf
bytes of the leaves a level-0 tile covers, each after its big-endian uint16 length. With
them a client computes any root and proof itself (tests/tlog_client does, with Go's tlog).

Only what the latest checkpoint covers is served: a tile's content then never changes, so it
may be cached for good, and no tile gives away a tree nobody has signed yet.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from projections.merkle_log.leaves import notification_leaf_bytes
from projections.merkle_log.proofs import TreeDamaged
from projections.merkle_log.rfc9162 import leaf_hash
from projections.merkle_log.store import create_tables, latest_checkpoint
from projections.storage.database import Database

TILE_WIDTH = 256
TILE_HEIGHT = 8  # log2(TILE_WIDTH): a level-L hash is a subtree of height 8L
MAX_LEVEL = 63
HASH_BYTES = 32
FULL_TILE_BYTES = TILE_WIDTH * HASH_BYTES  # 8192
ENTRIES = "entries"
MAX_ENTRY_BYTES = 0xFFFF  # a bundle's length prefix is a uint16

# The index in path elements of three digits, `x` before all but the last. Seven elements hold
# any index of a tree of up to 2**63 leaves; more would only be a costly way to say 404.
_LEVEL = r"0|[1-9][0-9]?"
_WIDTH = r"[1-9][0-9]{0,2}"
_INDEX = r"(?:x[0-9]{3}/){0,6}[0-9]{3}"
_PATH = re.compile(
    rf"(?P<level>{_LEVEL}|{ENTRIES})/(?P<index>{_INDEX})(?:\.p/(?P<width>{_WIDTH}))?"
)


@dataclass(frozen=True)
class Tile:
    """A hash tile (`level` 0..63) or, with `level` None, an entry bundle."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_entries(self) -> bool:
        return self.level is None

    @property
    def path(self) -> str:
        """The path below `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`."""
        level = ENTRIES if self.level is None else str(self.level)
        partial = "" if self.width == TILE_WIDTH else f".p/{self.width}"
        return f"{level}/{encode_index(self.index)}{partial}"

    @property
    def end(self) -> int:
        """How many leaves a tree must hold for every hash (or entry) of this tile to exist."""
        level = self.level or 0
        return (self.index * TILE_WIDTH + self.width) * TILE_WIDTH**level


def encode_index(index: int) -> str:
    """1234067 -> x001/x234/067: zero-padded groups of three digits, `x` before all but the last."""
    if index < 0:
        raise ValueError(f"a tile index is not negative: {index}")
    groups = []
    while True:
        index, group = divmod(index, 1000)
        groups.append(f"{group:03d}")
        if index == 0:
            break
    return "/".join(f"x{g}" for g in reversed(groups[1:])) + ("/" if groups[1:] else "") + groups[0]


def parse_tile_path(path: str) -> Tile | None:
    """The tile a path below `tile/` names, or None when it is not exactly a C2SP tile path.

    Strict: only the one spelling each tile has (no leading zeros in L or W, no `x000/` before
    an index, no `.p/256`), so that one tile never has two cacheable addresses."""
    found = _PATH.fullmatch(path)
    if found is None:
        return None
    level_text, width_text = found["level"], found["width"]
    level = None if level_text == ENTRIES else int(level_text)
    width = TILE_WIDTH if width_text is None else int(width_text)
    if (level is not None and level > MAX_LEVEL) or (width_text and width >= TILE_WIDTH):
        return None
    index = int(found["index"].replace("x", "").replace("/", ""))
    tile = Tile(level, index, width)
    return tile if tile.path == path else None


class NotificationSource(Protocol):
    """The event recorder's one method that bundles need (eventsourcing's ApplicationRecorder)."""

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None,
        topics: Sequence[str] = (), *, inclusive_of_start: bool = True,
    ) -> Sequence: ...


class Tiles:
    """Reads tiles from the stored log; None for a tile beyond the latest checkpoint."""

    def __init__(self, db: Database) -> None:
        self.db = db
        create_tables(db)

    def signed_size(self) -> int:
        latest = latest_checkpoint(self.db)
        return latest.tree_size if latest else 0

    def hashes(self, tile: Tile) -> bytes | None:
        """The tile's hashes concatenated (32 bytes each), or None when the latest checkpoint
        does not cover all of them. TreeDamaged when a stored hash it covers is missing."""
        if tile.is_entries or tile.end > self.signed_size():
            return None
        first = tile.index * TILE_WIDTH
        if tile.level == 0:
            rows = self.db.fetchall(
                "SELECT leaf_index, leaf_hash FROM merkle_leaves "
                "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
                (first, first + tile.width),
            )
        else:
            rows = self.db.fetchall(
                "SELECT node_index, node_hash FROM merkle_nodes WHERE height = %s "
                "AND node_index >= %s AND node_index < %s ORDER BY node_index",
                (TILE_HEIGHT * (tile.level or 0), first, first + tile.width),
            )
        hashes = [bytes(row[1]) for row in rows]
        if [int(row[0]) for row in rows] != list(range(first, first + tile.width)) or any(
            len(h) != HASH_BYTES for h in hashes
        ):
            raise TreeDamaged(f"the Merkle log lacks stored hashes of tile {tile.path}")
        return b"".join(hashes)

    def entries(self, tile: Tile, recorder: NotificationSource) -> bytes | None:
        """The bundle of the leaves [N*256, N*256 + W): each leaf's bytes after their length,
        or None beyond the latest checkpoint. TreeDamaged when a leaf's event is missing or no
        longer hashes to the sealed leaf: a bundle the signed root contradicts would only
        mislead."""
        if not tile.is_entries or tile.end > self.signed_size():
            return None
        first = tile.index * TILE_WIDTH
        leaves = self.db.fetchall(
            "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves "
            "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index",
            (first, first + tile.width),
        )
        if [int(row[0]) for row in leaves] != list(range(first, first + tile.width)):
            raise TreeDamaged(f"the Merkle log lacks sealed leaves of bundle {tile.path}")
        ids = [int(row[1]) for row in leaves]
        # Ids may have gaps (rolled-back writes), never more events than ids between them.
        found = recorder.select_notifications(
            start=ids[0], limit=ids[-1] - ids[0] + 1, stop=ids[-1], inclusive_of_start=True
        )
        by_id = {int(n.id): n for n in found}
        bundle = bytearray()
        for index, notification_id, sealed in leaves:
            event = by_id.get(int(notification_id))
            if event is None:
                raise TreeDamaged(f"the event {notification_id} of leaf {index} is missing")
            data = notification_leaf_bytes(event)
            if leaf_hash(data) != bytes(sealed) or len(data) > MAX_ENTRY_BYTES:
                raise TreeDamaged(
                    f"the event {notification_id} no longer hashes to its sealed leaf {index}"
                )
            bundle += struct.pack(">H", len(data)) + data
        return bytes(bundle)
