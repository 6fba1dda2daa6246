"""Key epochs in the database: opening the first, closing one, destroying old KEKs. The rules
(when, which, final or not) are `domain.key_epochs`'.

Closing an epoch: (1) the next epoch's KEK is made in the key directory and the epoch is
recorded; (2) every live data key and the derivation root is re-wrapped under it, in batches
of their own transactions so writers never wait long; (3) the KEKs of which `kept` newer epochs
exist are destroyed, each only after no live key is wrapped by it any more, and the file goes
before the database says so (a crash in between leaves a KEK that is gone but not yet recorded,
never one that is recorded gone but is not). One process at a time closes (`db.exclusive`).

The first start and the move of a store made before epochs are
`projections.storage.key_epoch_start`; which erasures are final,
`projections.storage.erasure_finality`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.key_epochs import EpochPolicy
from domain.ledger.keys import KeyEncryptionKey
from projections.storage.erasure_finality import ErasureFinality, FinalErasure, PendingErasure
from projections.storage.key_epoch_start import EpochStart, MasterKeyMismatch, MasterKeyNeeded
from projections.storage.key_store import ROOT_NAME, ROOT_OWNER, SqlKeyStore

__all__ = [
    "CloseReport", "FinalErasure", "KeyEpochs", "MasterKeyMismatch", "MasterKeyNeeded",
    "PendingErasure", "Progress",
]

LOCK = "key-epochs"
BATCH = 2000
Progress = Callable[[int, int], None]


@dataclass
class CloseReport:
    opened: int
    rewrapped: int
    destroyed: list[int] = field(default_factory=list)
    not_destroyable: list[int] = field(default_factory=list)


class KeyEpochs(EpochStart, ErasureFinality):
    LOCK = LOCK

    def __init__(
        self, keys: SqlKeyStore, policy: EpochPolicy, legacy_key: bytes | None = None
    ) -> None:
        self.keys = keys
        self.legacy_key = legacy_key  # the master key's bytes, for a store made before epochs
        self.db = keys.db
        self.keks = keys.keks
        self.policy = policy

    def _open(self, epoch: int) -> None:
        self.keks.create(epoch)  # the KEK exists before anything may be wrapped by it
        now = self.keys.now()
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO key_epochs (epoch, opened_at) VALUES (%s, %s) "
                "ON CONFLICT (epoch) DO NOTHING", (epoch, now),
            )
            cur.execute(
                "UPDATE key_epochs SET closed_at = %s WHERE epoch < %s AND closed_at IS NULL",
                (now, epoch),
            )

    # Closing
    def due(self, now: datetime) -> bool:
        row = self.db.fetchone(
            "SELECT opened_at FROM key_epochs ORDER BY epoch DESC LIMIT 1"
        )
        return row is not None and self.policy.due_to_close(datetime.fromisoformat(row[0]), now)

    def close(self, progress: Progress | None = None, wait: bool = True) -> CloseReport | None:
        """Closes the current epoch; None when another process is closing one (`wait` off)."""
        with self.db.exclusive(LOCK, wait=wait) as got:
            if not got:
                return None
            new = self.keys.current_epoch() + 1
            self._open(new)
            report = CloseReport(opened=new, rewrapped=self.rewrap(new, progress))
            self._destroy_due(new, report)
            return report

    def rewrap(self, epoch: int, progress: Progress | None = None) -> int:
        """Every live data key wrapped by an older epoch, and the root, under `epoch`'s KEK."""
        new = self.keys.kek(epoch)
        total_row = self.db.fetchone(
            "SELECT COUNT(*) FROM data_keys WHERE wrapped_key IS NOT NULL AND epoch < %s", (epoch,)
        )
        total, done, after = int(total_row[0]), 0, ""
        keks: dict[int, KeyEncryptionKey] = {}
        while True:
            rows = self.db.fetchall(
                "SELECT owner_id, wrapped_key, epoch FROM data_keys WHERE wrapped_key IS NOT NULL "
                "AND epoch < %s AND owner_id > %s ORDER BY owner_id LIMIT %s",
                (epoch, after, BATCH),
            )
            if not rows:
                break
            updates = []
            for owner, wrapped, old in rows:
                if old not in keks:
                    keks[old] = self.keys.kek(old)
                key = keks[old].unwrap(UUID(owner), bytes(wrapped))
                updates.append((new.wrap(UUID(owner), key), epoch, owner, old))
            with self.db.transaction() as cur:
                # Only a row still as it was read: a key shredded meanwhile stays shredded.
                cur.executemany(
                    "UPDATE data_keys SET wrapped_key = %s, epoch = %s "
                    "WHERE owner_id = %s AND epoch = %s AND wrapped_key IS NOT NULL",
                    updates,
                )
            done, after = done + len(rows), rows[-1][0]
            if progress is not None:
                progress(done, max(total, done))
        self._rewrap_root(epoch, new)
        return done

    def _rewrap_root(self, epoch: int, new: KeyEncryptionKey) -> None:
        row = self.db.fetchone(
            "SELECT wrapped_key, epoch FROM key_roots WHERE name = %s", (ROOT_NAME,)
        )
        if row is None or int(row[1]) >= epoch:
            return
        root = self.keys.kek(int(row[1])).unwrap(ROOT_OWNER, bytes(row[0]))
        self.db.execute(
            "UPDATE key_roots SET wrapped_key = %s, epoch = %s WHERE name = %s AND epoch = %s",
            (new.wrap(ROOT_OWNER, root), epoch, ROOT_NAME, int(row[1])),
        )

    def _destroy_due(self, current: int, report: CloseReport) -> None:
        held = [epoch for epoch, _, _, destroyed_at in self.epochs() if destroyed_at is None]
        due = self.policy.to_destroy(current, held)
        if due:
            self.rewrap(current)  # a key made while this close re-wrapped may be in an older epoch
        for epoch in due:
            if not self.keks.destroy(epoch):
                report.not_destroyable.append(epoch)
                continue
            self.db.execute(
                "UPDATE key_epochs SET destroyed_at = %s WHERE epoch = %s",
                (self.keys.now(), epoch),
            )
            report.destroyed.append(epoch)

    def epochs(self) -> list[tuple[int, str, str | None, str | None]]:
        """(epoch, opened_at, closed_at, destroyed_at), oldest first."""
        return [
            (int(e), o, c, d) for e, o, c, d in self.db.fetchall(
                "SELECT epoch, opened_at, closed_at, destroyed_at FROM key_epochs ORDER BY epoch"
            )
        ]
