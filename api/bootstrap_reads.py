"""The composition root's part for reads (api/bootstrap.py is the rest): where a process answers
its GETs from (its own store, or streaming replicas: projections/read_models/read_sources.py),
and the stores of a read-only process, which opens nothing for writing and creates no table
(docs/deploy.md §6)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from api.bootstrap import Stores, access_policy, key_directory
from api.container import Container
from api.settings import Settings
from domain.clock import Clock, SystemClock
from domain.key_epochs import EpochPolicy
from domain.ledger import Ledger
from projections.read_models.queries.answers import ReadModels
from projections.read_models.read_side import ReadSideHandle
from projections.read_models.read_sources import ReadSource, ReadSources
from projections.read_models.sealed_columns import email_lookup_key
from projections.storage.database import Database, event_store_env, open_database
from projections.storage.key_epochs import KeyEpochs
from projections.storage.key_store import SqlKeyStore
from projections.storage.postgres import READ_ONLY_SESSIONS, check_recorder_when_idle
from projections.storage.read_replicas import Replica


class StoreNotInitialised(Exception):
    """A read-only process found no ledger in its store: it creates no table, so the store must
    have been made by `ledger init` (and, for a replica, have received it)."""


def is_read_only(settings: Settings) -> bool:
    """`--read-only` / LEDGER_READ_ONLY, or replicas named without a store of its own."""
    own_store = "database_url" in settings.model_fields_set
    return settings.read_only or (bool(settings.read_database_url) and not own_store)


def reading_url(settings: Settings) -> str:
    """What a read-only process stands on (the events, the keys): LEDGER_DATABASE_URL when it
    is given, else the first replica."""
    if "database_url" in settings.model_fields_set or not settings.read_database_url:
        return settings.database_url
    return settings.read_database_url[0]


def open_read_only_stores(settings: Settings, clock: Clock | None = None) -> Stores:
    """The stores of a process that only reads: every session read-only, no table created, no
    key epoch opened, no group commit. The key directory must be the writing processes'."""
    clock = clock or SystemClock()
    url = reading_url(settings)
    # The event store's pool takes no connection options: libpq's environment reaches it.
    # A read-only process reads only, so it holds for the whole process.
    options = os.environ.get("PGOPTIONS", "")
    if READ_ONLY_SESSIONS not in options:  # a uvicorn worker inherits its parent's
        os.environ["PGOPTIONS"] = f"{options} {READ_ONLY_SESSIONS}".strip()
    db = open_database(url, read_only=True)
    try:
        try:
            db.fetchone("SELECT origin FROM merkle_origin")
        except Exception as error:
            if type(error).__name__ != "UndefinedTable":
                raise
            raise StoreNotInitialised(
                f"there is no ledger at {_without_password(url)}: a read-only process makes no "
                "tables; run `ledger init` against the primary first"
            ) from None
        keks = key_directory(settings)
        keys = SqlKeyStore(db, keks, clock)
        epochs = KeyEpochs(
            keys, EpochPolicy(settings.key_epoch_hours, settings.key_epochs_kept),
            legacy_key=keks.legacy_key,
        )
        env = {**event_store_env(url), "CREATE_TABLE": "n"}
        ledger = Ledger(
            env=env, keys=keys, clock=clock, policy=access_policy(settings), group_commit=False,
            read_only=True,
        )
        check_recorder_when_idle(ledger.recorder)
    except BaseException:
        db.close()
        raise
    return Stores(ledger=ledger, db=db, keys=keys, epochs=epochs)


def read_sources(
    settings: Settings, stores: Stores, read_models: Any, *, read_only: bool = False
) -> ReadSources:
    """Where this process answers reads from (projections/read_models/read_sources.py): its
    replicas, with its own store as the fallback; a read-only process standing on its first
    replica has no store of its own to fall back on."""
    lookup_key = email_lookup_key(stores.keys.derivation_root())
    replicas: list[ReadSource] = []
    try:
        for number, url in enumerate(settings.read_database_url, 1):
            db = open_database(url, read_only=True)
            name = f"replica {number} ({_without_password(url)})"
            read = ReadModels(db, stores.keys, lookup_key, ledger=stores.ledger,
                              clock=stores.ledger.clock)
            replica = Replica(name, db, settings.read_max_lag_seconds)
            replicas.append(ReadSource(name, read, db, replica))
    except BaseException:
        for source in replicas:
            source.db.close()
        raise
    own: ReadSource | None = ReadSource("primary", read_models, stores.db)
    last_position = _last_position(stores)
    if read_only:
        standby = _is_standby(stores.db)
        if standby and settings.read_database_url and reading_url(settings) in settings.read_database_url:
            own = None
        if standby:
            last_position = None  # a standby may not have received the newest events yet
    return ReadSources(own, replicas, settings.read_fallback, last_position)


def _last_position(stores: Stores) -> Any:
    return lambda: int(stores.ledger.recorder.max_notification_id() or 0)


def _is_standby(db: Database) -> bool:
    row = db.fetchone("SELECT pg_is_in_recovery()")
    return bool(row and row[0])


def _without_password(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.hostname}:{parsed.port or 5432}{parsed.path}"


def build_read_only(settings: Settings, clock: Clock | None) -> Container:
    """The container of a read-only process: its stores and read side, nothing to run."""
    stores = open_read_only_stores(settings, clock=clock)
    try:
        lookup_key = email_lookup_key(stores.keys.derivation_root())
        read_models = ReadModels(stores.db, stores.keys, lookup_key, ledger=stores.ledger,
                                 clock=stores.ledger.clock)
        reads = read_sources(settings, stores, read_models, read_only=True)
    except BaseException:
        stores.close()
        raise
    return Container(settings, stores, ReadSideHandle(read_models, None), None, None, reads,
                     read_only=True)
