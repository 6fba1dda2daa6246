"""The one composition root: from `Settings`, the ledger and its stores, the read side and the
sealer, each built here and nowhere else (what a running process holds: api/container.py).

The app (api/app.py), every `ledger` command (api/cli/), the bench and the tests' fixtures take
what they need from here: `open_stores` alone for a command that reads or writes once,
`start_read_side` and `make_sealer` for a part, `build` for a whole process (`ledger serve`,
`ledger worker`) with `Container.start` / `Container.close` around its life. Where reads are
answered from (replicas, read-only processes) is composed in api/bootstrap_reads.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from domain.grants import AccessPolicy
from domain.ledger import Ledger
from domain.clock import Clock, SystemClock
from domain.key_epochs import EpochPolicy
from projections.storage.advisory_locks import EVENT_STORE_SCHEMA_LOCK
from projections.storage.database import Database, event_store_env, open_database
from projections.storage.event_topics import last_topics_reader
from projections.storage.in_doubt_commits import recognise_own_commits
from projections.storage.key_directory import KeyDirectory
from projections.storage.key_epochs import KeyEpochs, Progress
from projections.storage.key_store import SqlKeyStore
from projections.outbox.notices import outbox_runner
from projections.storage.postgres import PostgresDatabase, check_recorder_when_idle
from projections.storage.sqlite import SqliteDatabase

from api import keyfiles
from api.container import Container
from api.private_files import make_private, private_folder
from api.settings import Settings

if TYPE_CHECKING:
    from projections.merkle_log.sealer import Sealer
    from projections.read_models.base import Projection
    from projections.read_models.read_side import ReadSideHandle

@dataclass
class Stores:
    """The ledger and what it stands on: the database, the key store and its epochs."""

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
    policy = access_policy(settings)
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
            check_recorder_when_idle(ledger.recorder)
            topics = last_topics_reader(ledger.recorder, db)
            if topics is not None:
                ledger.read_last_topics_with(topics)
            if isinstance(db, SqliteDatabase):
                db.share_turns_with(ledger.recorder)
    except BaseException:
        db.close()
        raise
    return Stores(ledger=ledger, db=db, keys=keys, epochs=epochs)


def access_policy(settings: Settings) -> AccessPolicy:
    return AccessPolicy(
        pending_lifetime=timedelta(hours=settings.pending_request_hours),
        default_grant=timedelta(minutes=settings.default_grant_minutes),
        maximum_grant=timedelta(minutes=settings.maximum_grant_minutes),
    )


def open_private_stores(settings: Settings, clock: Clock | None = None) -> Stores:
    """`open_stores` as `ledger init` and the app start: the data dir made 0700 and the
    generated keys written (0600) into it first, then whatever the store created in it (the
    SQLite files) tightened to 0600 too (api/private_files.py)."""
    private_folder(settings.data_dir)  # before the keys are written into it
    keyfiles.ensure_all(settings)  # keys are generated on first start
    stores = open_stores(settings, clock=clock)  # makes the first epoch's KEK on a new store
    try:
        make_private(settings)  # the SQLite files exist now
    except BaseException:
        stores.close()
        raise
    return stores


def read_model_projections(stores: Stores) -> list[Projection]:
    """The read models over these stores, without a runner: for commands that only look at
    them or rebuild them (a runner brings changed read models to their version at once)."""
    from projections.read_models.all_read_models import read_model_projections as projections
    from projections.read_models.sealed_columns import email_lookup_key

    return projections(stores.keys, email_lookup_key(stores.keys.derivation_root()))


def start_read_side(
    stores: Stores, settings: Settings, *, run_projections: bool = True, clock: Any = None
) -> ReadSideHandle:
    """The read models for this process, with their runner started in the background when
    `run_projections`: `.read_models`, `.runner`, `.stop()`. Stop it before `stores.close()`."""
    from projections.read_models.read_side import open_read_side

    return open_read_side(
        # The email-lookup key comes from the derivation root, which every epoch close
        # re-wraps: it stays the same for the life of the store.
        stores.ledger, stores.db, stores.keys, stores.keys.derivation_root(),
        poll_interval=settings.poll_interval_ms / 1000, clock=clock,
        run_projections=run_projections,
    )


def make_sealer(stores: Stores, settings: Settings) -> Sealer:
    """The sealer for these stores, signing with the configured key and keeping the configured
    delay bound (settings.checkpoint_delay_seconds). Call `.start()` / `.stop()` around serving."""
    from projections.merkle_log.sealer import Sealer

    return Sealer(
        stores.ledger,
        stores.db,
        keyfiles.signing_key(settings),
        checkpoint_interval=1.0,
        max_delay=settings.checkpoint_delay_seconds,
        poll_interval=settings.poll_interval_ms / 1000,
        origin=log_origin(stores, settings),
    )


def log_origin(stores: Stores, settings: Settings) -> str:
    """The log's C2SP origin, chosen once and kept in the store (projections/merkle_log/notes.py)."""
    from projections.merkle_log.notes import ensure_origin

    return ensure_origin(stores.db, settings.log_origin, settings.public_url)




def build(
    settings: Settings, *, clock: Clock | None = None, sealer: bool = True, private: bool = False
) -> Container:
    """The stores (made private first when `private`: `open_private_stores`), the read side
    and the sealer of one process; nothing is started. A read-only process (`is_read_only`)
    gets the read side alone: no sealer, no runner, no outbox."""
    from api.bootstrap_reads import build_read_only, is_read_only, read_sources

    if is_read_only(settings):
        return build_read_only(settings, clock)
    stores = (open_private_stores if private else open_stores)(settings, clock=clock)
    try:
        read_side = start_read_side(
            stores, settings, run_projections=False, clock=stores.ledger.clock
        )
        made = make_sealer(stores, settings) if sealer else None
        outbox = outbox_runner(stores.ledger, stores.db, settings.poll_interval_ms / 1000)
        reads = read_sources(settings, stores, read_side.read_models)
    except BaseException:
        stores.close()
        raise
    return Container(settings, stores, read_side, made, outbox, reads)


@contextmanager
def _one_at_a_time(db: Database) -> Iterator[None]:
    """On PostgreSQL, processes starting together create the event store's schema one after
    the other (`EVENT_STORE_SCHEMA_LOCK`): the library replaces its insert function on every
    start, and two `CREATE OR REPLACE FUNCTION`s at once fail with "tuple concurrently
    updated"."""
    if not isinstance(db, PostgresDatabase):
        yield
        return
    with db.advisory_lock(EVENT_STORE_SCHEMA_LOCK):
        yield
