"""Builds the ledger and its stores from settings: the one place that knows what goes with what."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from domain.access import AccessPolicy
from domain.application import Ledger
from domain.clock import Clock, SystemClock
from domain.key_epochs import EpochPolicy
from projections.storage.database import Database, event_store_env, open_database
from projections.storage.in_doubt_commits import recognise_own_commits
from projections.storage.key_directory import KeyDirectory
from projections.storage.key_epochs import KeyEpochs, Progress
from projections.storage.key_store import SqlKeyStore

from api import keyfiles
from api.settings import Settings


@dataclass
class Stores:
    ledger: Ledger
    db: Database
    keys: SqlKeyStore
    epochs: KeyEpochs

    def close(self) -> None:
        self.ledger.close()
        self.db.close()


def key_directory(settings: Settings) -> KeyDirectory:
    legacy_key, legacy_file = keyfiles.legacy_master_key(settings)
    return KeyDirectory(keyfiles.key_dir(settings), legacy_key, legacy_file)


def open_stores(
    settings: Settings, clock: Clock | None = None, epoch_progress: Progress | None = None
) -> Stores:
    """Opens the database and the key directory; the first start of a store opens its first
    key epoch, or moves a store made before epochs to them (projections.storage.key_epochs)."""
    clock = clock or SystemClock()
    db = open_database(settings.database_url)
    policy = AccessPolicy(
        pending_lifetime=timedelta(hours=settings.pending_request_hours),
        default_grant=timedelta(minutes=settings.default_grant_minutes),
        maximum_grant=timedelta(minutes=settings.maximum_grant_minutes),
    )
    env = event_store_env(settings.database_url)
    env["CREATE_TABLE"] = "y"
    try:
        with _one_at_a_time(db):
            keks = key_directory(settings)
            keys = SqlKeyStore(db, keks, clock)
            epochs = KeyEpochs(
                keys, EpochPolicy(settings.key_epoch_hours, settings.key_epochs_kept),
                legacy_key=keks.legacy_key,
            )
            epochs.start(epoch_progress)
            ledger = Ledger(
                env=env, keys=keys, clock=clock, policy=policy, group_commit=settings.group_commit
            )
            recognise_own_commits(ledger.recorder)
    except BaseException:
        db.close()
        raise
    return Stores(ledger=ledger, db=db, keys=keys, epochs=epochs)


# pg_advisory_lock key held while a process creates the event store's tables and function.
EVENT_STORE_SCHEMA_LOCK = 7463


@contextmanager
def _one_at_a_time(db: Database) -> Iterator[None]:
    """On PostgreSQL, processes starting together create the event store's schema one after
    the other: the library replaces its insert function on every start, and two
    `CREATE OR REPLACE FUNCTION`s at once fail with "tuple concurrently updated"."""
    pool = getattr(db, "pool", None)
    if pool is None:
        yield
        return
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (EVENT_STORE_SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (EVENT_STORE_SCHEMA_LOCK,))
