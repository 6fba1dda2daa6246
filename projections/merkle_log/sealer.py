"""The sealer: follows the event log and appends every event to the Merkle log, then signs checkpoints.

Leaf i is the i-th stored event in notification-id order (ids may have gaps). Each batch of
leaves, the interior nodes it completes, the CompactRange frontier and the last sealed
notification id are written in ONE transaction, guarded by the tree size read inside it, so a
crash or a second sealer never loses or doubles a leaf; a restart resumes where it stopped.

Delay bound: the background loop polls every `poll_interval` and, while the tree grows, writes a
checkpoint at most every `checkpoint_interval` (1 s by default), so an event committed at t is in
a signed checkpoint by about t + poll_interval + checkpoint_interval + the time to hash a batch.
Both intervals are clamped so that their sum stays within `max_delay`
(settings.checkpoint_delay_seconds, 5 s by default), which leaves a quarter of it for the work.

On PostgreSQL only one sealer may write: each holds a session-level advisory lock on a dedicated
connection (`SEALER_LOCK_KEY`); others stand by and retry, taking over when the holder's
connection ends. SQLite has one writer at a time anyway, and the size guard keeps two sealers
from ever interleaving.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.merkle_log.checkpoints import Checkpoint, sign_checkpoint
from projections.storage.database import Database
from projections.merkle_log.leaves import notification_leaf_hash
from projections.merkle_log.rfc9162 import CompactRange
from projections.merkle_log.store import (
    NODE_STRIDE,
    SealedState,
    create_tables,
    latest_checkpoint,
    read_state,
)
from projections.read_models.runner import database_unreachable

log = logging.getLogger("ledger.sealer")

# pg_try_advisory_lock key: the first 8 bytes of SHA-256("compliance-ledger sealer"), signed.
SEALER_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"compliance-ledger sealer").digest()[:8], "big", signed=True
)
# How often a standby sealer retries the lock, and the leader checks its lock connection lives.
LOCK_RETRY_SECONDS = 1.0


class _Overtaken(Exception):
    """Another sealer wrote first: our view of the tree is stale."""


class Sealer:
    def __init__(
        self,
        ledger: Any,
        db: Database,
        signing_key: Ed25519PrivateKey,
        checkpoint_interval: float = 1.0,
        *,
        max_delay: float = 5.0,
        poll_interval: float = 0.1,
        batch_size: int = 500,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """`ledger` is the Ledger application (only its `recorder` is used); `db` holds the
        Merkle tables (the same database as the events)."""
        if max_delay <= 0 or checkpoint_interval <= 0 or poll_interval <= 0 or batch_size < 1:
            raise ValueError("intervals must be positive and batch_size at least 1")
        self.recorder = ledger.recorder
        self.db = db
        self.signing_key = signing_key
        self.max_delay = max_delay
        self.checkpoint_interval = min(checkpoint_interval, max_delay / 2)
        self.poll_interval = min(poll_interval, max_delay / 4)
        self.batch_size = batch_size
        self.now = now or (lambda: datetime.now(timezone.utc))
        create_tables(db)
        self._state: SealedState | None = None
        self._checkpointed_size = 0
        self._last_checkpoint_at = float("-inf")
        self._work = threading.Lock()  # seal_pending and the background loop never interleave
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_conn: Any = None
        self._lock_checked_at = 0.0

    # --- public API -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while this sealer may write (always on SQLite; the lock holder on PostgreSQL)."""
        return self.db.dialect != "postgresql" or self._lock_conn is not None

    @property
    def tree_size(self) -> int:
        return self._state.tree.size if self._state else read_state(self.db).tree.size

    def seal_pending(self) -> int:
        """Seal everything stored so far and sign a checkpoint if the tree grew. Returns how
        many leaves this call added: 0 also when another process holds the sealer lock."""
        with self._work:
            if not self._lead():
                return 0
            added = 0
            while True:
                sealed = self._seal_batch()
                added += sealed
                if sealed < self.batch_size:
                    break
            self._checkpoint()
            return added

    def start(self) -> None:
        """Follow the log in a background thread until `stop()`."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="merkle-sealer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (finishing the batch in hand) and release the lock."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._work:
            self._release()

    def __enter__(self) -> Sealer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                with self._work:
                    leading = self._lead()
                    if leading:
                        self._follow()
                failures = 0
                wait = self.poll_interval if leading else LOCK_RETRY_SECONDS
            except Exception as error:  # a dropped connection must not end sealing for good
                failures += 1
                if database_unreachable(error):
                    log.warning("sealing paused: the database is unreachable (%s)",
                                type(error).__name__)
                else:
                    log.exception("sealing failed; retrying")
                with self._work:
                    self._release()
                    self._state = None  # start again from what is stored
                wait = min(self.poll_interval * 2**failures, LOCK_RETRY_SECONDS)
            self._stopping.wait(wait)

    def _follow(self) -> None:
        while not self._stopping.is_set():
            sealed = self._seal_batch()
            if self._due():
                self._checkpoint()
            if sealed < self.batch_size:
                return

    def _due(self) -> bool:
        return time.monotonic() - self._last_checkpoint_at >= self.checkpoint_interval

    # --- sealing --------------------------------------------------------------------------------

    def _reload(self) -> None:
        self._state = read_state(self.db)
        latest = latest_checkpoint(self.db)
        self._checkpointed_size = latest.tree_size if latest else 0

    def _seal_batch(self) -> int:
        if self._state is None:
            self._reload()
        assert self._state is not None
        state = self._state
        notifications = self.recorder.select_notifications(
            start=state.last_notification_id, limit=self.batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        tree = CompactRange.from_state(state.tree.to_state())
        leaves: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        for notification in notifications:
            hash_ = notification_leaf_hash(notification)
            index = tree.size
            for height, node_index, node in tree.append(hash_):
                if height and height % NODE_STRIDE == 0:
                    nodes.append((height, node_index, node))
            leaves.append((index, int(notification.id), hash_))
        last_id = int(notifications[-1].id)
        try:
            self._commit(state.tree.size, tree, last_id, leaves, nodes)
        except _Overtaken:
            log.warning("another sealer moved the tree on; reloading its state")
            self._reload()
            return 0
        self._state = SealedState(tree, last_id)
        return len(leaves)

    def _commit(
        self, expected_size: int, tree: CompactRange, last_id: int,
        leaves: list[tuple[int, int, bytes]], nodes: list[tuple[int, int, bytes]],
    ) -> None:
        lock_row = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        frontier = json.dumps(tree.to_state()["frontier"])
        try:
            with self.db.transaction() as cursor:
                cursor.execute(f"SELECT tree_size FROM merkle_state WHERE id = 1{lock_row}")
                row = cursor.fetchone()
                if (int(row[0]) if row else 0) != expected_size:
                    raise _Overtaken()
                cursor.executemany(
                    "INSERT INTO merkle_leaves (leaf_index, notification_id, leaf_hash) "
                    "VALUES (%s, %s, %s)",
                    leaves,
                )
                if nodes:
                    cursor.executemany(
                        "INSERT INTO merkle_nodes (height, node_index, node_hash) VALUES (%s, %s, %s)",
                        nodes,
                    )
                if row:
                    cursor.execute(
                        "UPDATE merkle_state SET tree_size = %s, last_notification_id = %s, "
                        "frontier = %s WHERE id = 1",
                        (tree.size, last_id, frontier),
                    )
                else:
                    cursor.execute(
                        "INSERT INTO merkle_state (id, tree_size, last_notification_id, frontier) "
                        "VALUES (1, %s, %s, %s)",
                        (tree.size, last_id, frontier),
                    )
        except (sqlite3.IntegrityError, psycopg.IntegrityError) as error:
            # Two first-ever sealers can both find no state row; the loser hits the keys.
            raise _Overtaken() from error

    def _checkpoint(self) -> Checkpoint | None:
        assert self._state is not None
        tree = self._state.tree
        if tree.size == 0 or tree.size <= self._checkpointed_size:
            return None
        checkpoint = sign_checkpoint(self.signing_key, tree.size, tree.root(), self.now())
        self.db.execute(
            "INSERT INTO merkle_checkpoints (tree_size, root_hash, timestamp, signature) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (tree_size) DO NOTHING",
            (checkpoint.tree_size, checkpoint.root_hash, checkpoint.timestamp, checkpoint.signature),
        )
        self._checkpointed_size = tree.size
        self._last_checkpoint_at = time.monotonic()
        return checkpoint

    # --- leadership (PostgreSQL) ----------------------------------------------------------------

    def _lead(self) -> bool:
        if self.db.dialect != "postgresql":
            return True
        if self._lock_conn is not None:
            if time.monotonic() - self._lock_checked_at < LOCK_RETRY_SECONDS:
                return True
            try:
                self._lock_conn.execute("SELECT 1")
                self._lock_checked_at = time.monotonic()
                return True
            except Exception:
                log.warning("the sealer lock's connection ended; standing by")
                self._release()
        return self._try_lock()

    def _try_lock(self) -> bool:
        try:
            conn = psycopg.connect(self.db.conninfo, autocommit=True, connect_timeout=5)  # type: ignore[attr-defined]
        except psycopg.Error:
            return False
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (SEALER_LOCK_KEY,)).fetchone()
        except psycopg.Error:
            conn.close()
            return False
        if not got or not got[0]:
            conn.close()
            return False
        self._lock_conn = conn
        self._lock_checked_at = time.monotonic()
        # Whoever sealed before us may have moved the tree on: start from what is stored.
        self._reload()
        log.info("this process is now the sealer")
        return True

    def _release(self) -> None:
        if self._lock_conn is not None:
            try:
                self._lock_conn.close()  # ending the session releases the advisory lock
            except Exception:
                pass
            self._lock_conn = None
            self._state = None
