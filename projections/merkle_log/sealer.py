"""The sealer: follows the event log and appends every event to the Merkle log, then signs checkpoints.

Leaf i is the i-th stored event in notification-id order (ids may have gaps). Each batch of
leaves is saved with the sealer's tracking record (projections/merkle_log/sealed_state.py), in
ONE transaction guarded by the tree size read inside it, so a crash or a second sealer never
loses or doubles a leaf; a restart resumes where it stopped.

Delay bound: the background loop polls every `poll_interval` and, while the tree grows, writes a
checkpoint at most every `checkpoint_interval` (1 s by default), so an event committed at t is in
a signed checkpoint by about t + poll_interval + checkpoint_interval + the time to hash a batch.
Both intervals are clamped so that their sum stays within `max_delay`
(settings.checkpoint_delay_seconds, 5 s by default), which leaves a quarter of it for the work.

On PostgreSQL only one sealer may write: each holds a session-level advisory lock on a dedicated
connection (`SEALER_LOCK_KEY`); others stand by and retry, taking over when the holder's
connection ends. SQLite has one writer at a time anyway, and the size guard keeps two sealers
from ever interleaving. Following, the lock and riding out an outage are the mechanism the
projection runner uses too (projections/storage/follower.py). A record that disagrees with the
stored leaves is no outage: the sealer halts, says why (sealer_halts.py) and never retries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.merkle_log.checkpoints import Checkpoint, sign_checkpoint
from projections.merkle_log.notes import note_signature, sign_unsigned_note
from projections.merkle_log.sealed_state import Overtaken, SealedState, StateInconsistent
from projections.merkle_log.sealed_state import next_batch, read_checked_state, read_state
from projections.merkle_log.sealed_state import save_batch, sealed_position
from projections.merkle_log.sealer_halts import clear_halt, record_halt
from projections.merkle_log.store import create_tables, latest_checkpoint, save_checkpoint
from projections.storage.advisory_locks import advisory_key
from projections.storage.database import Database
from projections.storage.follower import FollowingThread, LeaderLock, Progress, keep_following
from projections.storage.follower import report_failure

log = logging.getLogger("ledger.sealer")

# pg_try_advisory_lock key: the first 8 bytes of SHA-256("compliance-ledger sealer"), signed.
SEALER_LOCK_KEY = advisory_key("compliance-ledger sealer")
# How often a standby sealer retries the lock, and the leader checks its lock connection lives.
LOCK_RETRY_SECONDS = 1.0


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
        origin: str | None = None,
    ) -> None:
        """`ledger` is the Ledger application (only its `recorder` is used); `db` holds the
        Merkle tables (the same database as the events); with an `origin` (notes.py) each
        checkpoint is also signed as a C2SP note."""
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
        self.origin = origin
        create_tables(db)
        self._state: SealedState | None = None
        self._checkpointed_size = 0
        self._last_checkpoint_at = float("-inf")
        self._work = threading.Lock()  # seal_pending and the background loop never interleave
        self._following = FollowingThread("merkle-sealer")
        self._lock = LeaderLock(SEALER_LOCK_KEY)
        self._progress = Progress()
        self.halted: str | None = None  # why it stopped for good (StateInconsistent)

    # --- public API -----------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while this sealer may write (always on SQLite; the lock holder on PostgreSQL)."""
        return self.db.dialect != "postgresql" or self._lock.conn is not None

    @property
    def tree_size(self) -> int:
        return self._state.tree.size if self._state else read_state(self.db).tree.size

    def position(self) -> int:
        """The last notification id sealed, from the sealer's record (whoever sealed it)."""
        return sealed_position(self.db)

    def wait_for(self, position: int, timeout: float) -> bool:
        """True as soon as every event up to `position` is sealed; False after `timeout` s."""
        return self._progress.wait_for(position, timeout, self.position)

    def seal_pending(self) -> int:
        """Seal everything stored so far and sign a checkpoint if the tree grew. Returns how
        many leaves this call added: 0 also when another process holds the sealer lock.
        Raises StateInconsistent (and halts) when its record disagrees with the stored leaves."""
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
        if self._following.thread is not None:
            return
        self._following.start(self._run)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (finishing the batch in hand) and release the lock."""
        self._following.stop(timeout)
        with self._work:
            self._release()

    # --- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        keep_following(self._following.stopping, self._step, self._failed)

    def _step(self) -> float:
        with self._work:
            leading = self._lead()
            if leading:
                self._follow()
        return self.poll_interval if leading else LOCK_RETRY_SECONDS

    def _failed(self, error: Exception, in_a_row: int) -> float:
        if isinstance(error, StateInconsistent):  # halted (_halt): retrying cannot mend it
            self._following.stopping.wait()  # so the thread parks until stopped
            return 0.0
        report_failure(log, error, "sealing failed; retrying", paused="sealing paused")
        with self._work:
            self._release()
            self._state = None  # start again from what is stored
        return min(self.poll_interval * 2**in_a_row, LOCK_RETRY_SECONDS)

    def _follow(self) -> None:
        while not self._following.stopping.is_set():
            sealed = self._seal_batch()
            if self._due():
                self._checkpoint()
            if sealed < self.batch_size:
                return

    def _due(self) -> bool:
        return time.monotonic() - self._last_checkpoint_at >= self.checkpoint_interval

    # --- sealing --------------------------------------------------------------------------------

    def _reload(self) -> None:
        self._state = self._checked(read_checked_state, self.db)  # never on from a wrong one
        clear_halt(self.db)  # a halt recorded before (here or in another process) was mended
        self.halted = None
        latest = latest_checkpoint(self.db)
        self._checkpointed_size = latest.tree_size if latest else 0
        if latest is not None and self.origin is not None:
            sign_unsigned_note(self.db, self.signing_key, self.origin, latest)

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
        tree, leaves, nodes = next_batch(state, notifications)
        last_id = leaves[-1][1]
        try:
            self._checked(save_batch, self.db, state.tree.size, tree, last_id, leaves, nodes)
        except Overtaken:
            log.warning("another sealer moved the tree on; reloading its state")
            self._reload()
            return 0
        self._state = SealedState(tree, last_id)
        self._progress.reached(last_id)
        return len(leaves)

    def _checkpoint(self) -> Checkpoint | None:
        assert self._state is not None
        tree = self._state.tree
        if tree.size == 0 or tree.size <= self._checkpointed_size:
            return None
        checkpoint = sign_checkpoint(self.signing_key, tree.size, tree.root(), self.now())
        signed_note = (
            note_signature(self.signing_key, self.origin, checkpoint) if self.origin else None
        )
        save_checkpoint(self.db, checkpoint, self.origin, signed_note)
        self._checkpointed_size = tree.size
        self._last_checkpoint_at = time.monotonic()
        return checkpoint

    # --- leadership (PostgreSQL) ----------------------------------------------------------------

    def _lead(self) -> bool:
        if self.db.dialect != "postgresql":
            return True
        if self._lock.conn is not None:
            if self._lock.still_held(LOCK_RETRY_SECONDS):
                return True
            log.warning("the sealer lock's connection ended; standing by")
            self._release()
        if not self._lock.take(self.db.conninfo):  # type: ignore[attr-defined]
            return False
        # Whoever sealed before us may have moved the tree on: start from what is stored.
        self._reload()
        log.info("this process is now the sealer")
        return True

    def _release(self) -> None:
        if self._lock.release():
            self._state = None

    def _checked(self, call: Callable[..., Any], *args: Any) -> Any:
        """`call(*args)`; on StateInconsistent, halt (record why, free the lock) and re-raise."""
        try:
            return call(*args)
        except StateInconsistent as error:
            self.halted = record_halt(self.db, error, log)
            self._release()
            self._state = None
            raise
