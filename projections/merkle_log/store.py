"""The Merkle log's tables, and reading them back.

  merkle_leaves       one row per sealed event: leaf_index (0-based, contiguous), the event's
                      notification_id, and its leaf_hash
  merkle_nodes        roots of complete perfect subtrees whose height is a multiple of
                      NODE_STRIDE (16, 256, 4096, ... leaves): a cache that makes proofs cheap
  merkle_state        one row: the tree's size, the last sealed notification id and the
                      CompactRange frontier, written in the same transaction as the leaves
  merkle_checkpoints  signed (tree_size, root_hash, timestamp, signature), one per tree size,
                      with the same statement as a C2SP note (origin, note_signature; notes.py)

Only the sealer writes them (the leaves, nodes and state with its tracking record,
sealed_state.py); proofs (proofs.py), `ledger verify` and the audit API read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from operator import itemgetter
from typing import Any

from projections.merkle_log.checkpoints import Checkpoint
from projections.storage.database import Database
from projections.storage.tables import Table, ensure_tables_once

# Heights 4, 8, 12, ...: about one stored node per 15 leaves, and any perfect subtree root is a
# fold of at most 2**(NODE_STRIDE - 1) = 8 stored rows (or 15 leaves below height 4).
NODE_STRIDE = 4


MERKLE_TABLES = (
    Table("merkle_leaves", "leaf_index {big_int}, notification_id {big_int} NOT NULL UNIQUE, "
          "leaf_hash {blob} NOT NULL", key=("leaf_index",)),
    Table("merkle_nodes", "height INTEGER NOT NULL, node_index {big_int} NOT NULL, "
          "node_hash {blob} NOT NULL", key=("height", "node_index")),
    Table("merkle_state", "id INTEGER CHECK (id = 1), tree_size {big_int} NOT NULL, "
          "last_notification_id {big_int} NOT NULL, frontier TEXT NOT NULL", key=("id",)),
    Table("merkle_checkpoints", "tree_size {big_int}, root_hash {blob} NOT NULL, "
          "timestamp TEXT NOT NULL, signature {blob} NOT NULL, origin TEXT, "
          "note_signature {blob}", key=("tree_size",), added=("origin", "note_signature")),
    # The log's name (C2SP origin), chosen once: a log that changes its name is another log.
    Table("merkle_origin", "id INTEGER CHECK (id = 1), origin TEXT NOT NULL", key=("id",)),
    # Witnesses' cosignatures (c2sp.org/tlog-cosignature) of a checkpoint, one per witness.
    # Keyed by the root too: after a wipe and reseal, a size's new checkpoint has another root,
    # and the old cosignatures (which do not hold for it) must never be served with it.
    Table("merkle_cosignatures", "tree_size {big_int}, root_hash {blob} NOT NULL, "
          "witness TEXT NOT NULL, line TEXT NOT NULL, cosigned_at {big_int} NOT NULL",
          key=("tree_size", "root_hash", "witness")),
)


def create_tables(db: Database) -> None:
    """Idempotent; runs the DDL once per Database object (readers call it on every request)."""
    ensure_tables_once(db, MERKLE_TABLES)


# --- leaves -------------------------------------------------------------------------------------


def leaf_hashes(db: Database, start: int, end: int) -> list[bytes]:
    """A proof_paths.RangeReader over the stored leaves [start, end)."""
    rows = db.fetchall(
        "SELECT leaf_hash FROM merkle_leaves WHERE leaf_index >= %s AND leaf_index < %s "
        "ORDER BY leaf_index",
        (start, end),
    )
    return [bytes(row[0]) for row in rows]


def iter_leaves(
    db: Database, end: int | None = None, chunk: int = 2000
) -> Iterator[tuple[int, int, bytes]]:
    """(leaf_index, notification_id, leaf_hash) in leaf order, read in chunks so memory stays
    flat however long the log is."""
    return chain.from_iterable(leaf_chunks(db, end, chunk))


def leaf_chunks(
    db: Database, end: int | None = None, chunk: int = 2000
) -> Iterator[list[tuple[int, int, bytes]]]:
    """The rows of `iter_leaves`, a list per query."""
    chunks = _leaf_windows(db, end, chunk) if end is not None else _leaf_keyset(db, chunk)
    return (_typed(rows) for rows in chunks)


_WINDOW_SQL = (
    "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves "
    "WHERE leaf_index >= %s AND leaf_index < %s ORDER BY leaf_index"
)


def _leaf_windows(db: Database, end: int, chunk: int) -> Iterator[list[tuple]]:
    """The leaves in [0, end), one window of `chunk` positions a query. A window, not
    "after the last one read": PostgreSQL, before it has statistics for the table (as right
    after a bulk seal), plans `leaf_index > x AND leaf_index < end` as a scan and sort of
    every leaf up to `end`, every chunk; a window scans only its own rows. Missing positions
    simply yield no rows, as with the keyset."""
    windows = [(start, min(start + chunk, end)) for start in range(0, end, chunk)]
    handed_out = 0
    pool = getattr(db, "pool", None)  # PostgreSQL's
    if pool is not None and _can_pipeline():
        import psycopg

        try:
            for rows in _pipelined(pool, windows):
                handed_out += 1
                yield rows
        except (psycopg.OperationalError, psycopg.InterfaceError):
            pass  # the connection was lost: the rest as below, each query on a checked one
    for window in windows[handed_out:]:
        yield db.fetchall(_WINDOW_SQL, window)


def _pipelined(pool: Any, windows: list[tuple[int, int]]) -> Iterator[list[tuple]]:
    """Each window asked for before the one before it is handed out, so that the server reads
    and sends it meanwhile (pipeline mode, one connection held for the pass): waiting for
    each in turn was a tenth of the pass."""
    with pool.connection() as conn, conn.pipeline():
        pending = conn.execute(_WINDOW_SQL, windows[0]) if windows else None
        for following in windows[1:]:
            rows = pending.fetchall()
            pending = conn.execute(_WINDOW_SQL, following)
            yield rows
        if pending is not None:
            yield pending.fetchall()


def _can_pipeline() -> bool:
    import psycopg

    return psycopg.Pipeline.is_supported()


def _leaf_keyset(db: Database, chunk: int) -> Iterator[list[tuple]]:
    after = -1
    while True:
        rows = db.fetchall(
            "SELECT leaf_index, notification_id, leaf_hash FROM merkle_leaves "
            "WHERE leaf_index > %s ORDER BY leaf_index LIMIT %s",
            (after, chunk),
        )
        yield rows
        if len(rows) < chunk:
            return
        after = int(rows[-1][0])


def _typed(rows: list[tuple]) -> list[tuple[int, int, bytes]]:
    """The rows as (int, int, bytes). The drivers give those types already, which a check a
    column at a time in C confirms for less than converting every value costs; SQLite may
    still hand back other types from a tampered row (its columns take any type), and those
    are converted (or fail) as before."""
    if (
        set(map(type, map(_INDEX, rows))) <= _INT
        and set(map(type, map(_NOTIFICATION_ID, rows))) <= _INT
        and set(map(type, map(_HASH, rows))) <= _BYTES
    ):
        return rows
    return [(int(i), int(n), bytes(h)) for i, n, h in rows]


_INDEX, _NOTIFICATION_ID, _HASH = itemgetter(0), itemgetter(1), itemgetter(2)
_INT, _BYTES = frozenset({int}), frozenset({bytes})


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


def checkpointed_position(db: Database) -> int:
    """The notification id of the last event the latest checkpoint covers (0 if none): how far
    a reader who needs a signed root may wait for (`Progress.wait_for`, storage/follower.py)."""
    row = db.fetchone(
        "SELECT l.notification_id FROM merkle_leaves l WHERE l.leaf_index = "
        "(SELECT MAX(tree_size) - 1 FROM merkle_checkpoints)"
    )
    return int(row[0]) if row else 0


def checkpoint_at(db: Database, tree_size: int) -> Checkpoint | None:
    row = db.fetchone(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM merkle_checkpoints WHERE tree_size = %s", (tree_size,)
    )
    return _checkpoint(row) if row else None


def save_checkpoint(
    db: Database, checkpoint: Checkpoint, origin: str | None = None,
    note_signature: bytes | None = None,
) -> None:
    """Keep a signed checkpoint, with its note's signature when the log has an origin; one per
    tree size, the first signed stays."""
    db.execute(
        f"INSERT INTO merkle_checkpoints ({_CHECKPOINT_COLUMNS}, origin, note_signature) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (tree_size) DO NOTHING",
        (checkpoint.tree_size, checkpoint.root_hash, checkpoint.timestamp, checkpoint.signature,
         origin, note_signature),
    )


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
