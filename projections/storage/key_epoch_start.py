"""The first start of a store's key epochs, and the move of a store made before them.

A new store gets epoch 1 and a random derivation root. A store made before epochs (data keys
wrapped by LEDGER_MASTER_KEY or the data dir's master.key) gets epoch 0 for the master key,
epoch 1, and every data key and the root re-wrapped under epoch 1; no event is read or written.
Each step can be taken again, so a start that failed halfway is finished by the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from cryptography.exceptions import InvalidTag

from domain.key_epochs import LEGACY_EPOCH
from domain.ledger.keys import KeyEncryptionKey
from projections.storage.key_store import ROOT_NAME, ROOT_OWNER

if TYPE_CHECKING:
    from projections.storage.key_epochs import KeyEpochs, Progress


class MasterKeyMismatch(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the master key given (LEDGER_MASTER_KEY, or the data dir's master.key) does not open "
            "this store's keys: it is another store's, or was replaced. Give the key this store "
            "was made with; nothing was changed"
        )


class MasterKeyNeeded(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "this store was made before key epochs: its data keys are wrapped by the master key. "
            "Give it (LEDGER_MASTER_KEY, or the data dir's master.key) once, so that they can be "
            "moved to epochs (`ledger keys migrate`, or the first start)"
        )



class EpochStart:
    """What `KeyEpochs` does at the start of each process (projections.storage.key_epochs)."""

    # Opening and migrating
    def start(self: KeyEpochs, progress: Progress | None = None) -> bool:
        """Opens epoch 1 on a new store, or migrates a store made before epochs; True when a
        migration ran. Each step can be taken again, so a start that failed halfway (a full
        key volume, a crash) is finished by the next one. Cheap on a store that needs nothing."""
        if not self._needs_start():
            return False
        with self.db.exclusive(self.LOCK):
            legacy = self._legacy_rows()
            if legacy:
                self._mark_legacy()
            epochs = self.epochs()
            has_master_epoch = bool(epochs) and epochs[0][0] == LEGACY_EPOCH
            if not [e for e in epochs if e[0] >= 1]:
                self._open(1)
            current = self.keys.current_epoch()
            if self._root_epoch() is None:
                if has_master_epoch:
                    # The derived keys were made from the master key itself before roots.
                    self.keys.make_root(LEGACY_EPOCH, self._master_bytes())
                else:
                    self.keys.make_root(current)
            if has_master_epoch and self._live_at(LEGACY_EPOCH):
                self._master()  # the right key, or a clear refusal before anything is read
                self.rewrap(current, progress)
                return True
            return legacy

    def _needs_start(self) -> bool:
        epochs = self.epochs()
        return (
            not [e for e in epochs if e[0] >= 1] or self._root_epoch() is None
            or self._legacy_rows()
            or (bool(epochs) and epochs[0][0] == LEGACY_EPOCH and self._live_at(LEGACY_EPOCH))
        )

    def _legacy_rows(self) -> bool:
        # A fence of this version (no key ever) has no epoch either, but is final at once.
        return self.db.fetchone(
            "SELECT 1 FROM data_keys WHERE epoch IS NULL AND final_at IS NULL "
            "UNION SELECT 1 FROM key_roots WHERE epoch IS NULL"
        ) is not None

    def _live_at(self, epoch: int) -> bool:
        return self.db.fetchone(
            "SELECT 1 FROM data_keys WHERE epoch = %s AND wrapped_key IS NOT NULL "
            "UNION SELECT 1 FROM key_roots WHERE epoch = %s", (epoch, epoch),
        ) is not None

    def _root_epoch(self) -> int | None:
        row = self.db.fetchone("SELECT epoch FROM key_roots WHERE name = %s", (ROOT_NAME,))
        return None if row is None or row[0] is None else int(row[0])

    def _master(self) -> KeyEncryptionKey:
        master = self.keks.get(LEGACY_EPOCH)
        if master is None:
            raise MasterKeyNeeded()
        root = self.db.fetchone(
            "SELECT wrapped_key, epoch FROM key_roots WHERE name = %s", (ROOT_NAME,)
        )
        sample = self.db.fetchone(
            "SELECT owner_id, wrapped_key FROM data_keys WHERE wrapped_key IS NOT NULL "
            "AND (epoch = 0 OR (epoch IS NULL AND final_at IS NULL)) LIMIT 1"
        )
        try:
            if root is not None and root[1] in (None, LEGACY_EPOCH):
                master.unwrap(ROOT_OWNER, bytes(root[0]))
            elif sample is not None:
                master.unwrap(UUID(sample[0]), bytes(sample[1]))
        except InvalidTag:
            raise MasterKeyMismatch() from None
        return master

    def _master_bytes(self) -> bytes:
        self._master()
        assert self.legacy_key is not None
        return self.legacy_key

    def _mark_legacy(self) -> None:
        """Epoch 0 is the master key: every key of before, live or shredded, was wrapped by
        it in copies made before now."""
        self._master()
        first = self.db.fetchone("SELECT MIN(created_at) FROM data_keys")
        now = self.keys.now()
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO key_epochs (epoch, opened_at, closed_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (epoch) DO NOTHING",
                (LEGACY_EPOCH, (first and first[0]) or now, now),
            )
            cur.execute("UPDATE data_keys SET epoch = 0, first_epoch = 0 "
                        "WHERE epoch IS NULL AND final_at IS NULL")
            cur.execute("UPDATE key_roots SET epoch = 0 WHERE epoch IS NULL")
