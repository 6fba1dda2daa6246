"""What one ledger process holds while it runs: its stores, read side, sealer and outbox, and the
work it does in background threads (`Container.start` / `close`). Made by `api.bootstrap.build`,
the one composition root."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from api import keyfiles
from api.services.delivered_files import DeliveredFiles
from api.services.sweep import start_sweeper
from api.settings import Settings
from projections.outbox.contacts import ContactStore
from projections.outbox.deliveries import DeliveryStore
from projections.outbox.subscriptions import SubscriptionStore, sealing_key
from projections.outbox.systems import SystemStore
from projections.storage.banner_sites import SiteStore
from projections.storage.idempotency import IdempotencyStore, fingerprint_key
from projections.storage.portal_sessions import SessionStore

if TYPE_CHECKING:
    from api.bootstrap import Stores
    from api.notifications.dispatcher import Dispatcher
    from projections.merkle_log.sealer import Sealer
    from projections.read_models.read_side import ReadSideHandle
    from projections.read_models.read_sources import ReadSources
    from projections.read_models.runner import ProjectionRunner
    from projections.storage.privacy_center_sessions import CenterSessionStore

Made = TypeVar("Made")


@dataclass
class Container:
    """What one ledger process holds: its stores, its read side and (unless left out) its
    sealer, none of them running until `start`; and, made on first use, the stores only the
    HTTP side needs (idempotency keys, portal sessions, kept copies of delivered exports)."""

    settings: Settings
    stores: Stores
    read_side: ReadSideHandle
    sealer: Sealer | None
    # The outbox's tracked consumer (projections/outbox/notices.py); None in a read-only process.
    outbox: ProjectionRunner | None
    reads: ReadSources  # where GETs are answered from: this store or its replicas
    read_only: bool = False  # `--read-only`: opens nothing for writing (api/bootstrap.py)
    _dispatcher: Dispatcher | None = field(default=None, repr=False)
    _sweeper: tuple[threading.Thread, threading.Event] | None = field(default=None, repr=False)
    _witnesses: Any = field(default=None, repr=False)  # api/witnesses/submitter.py, when configured
    _made: dict[str, Any] = field(default_factory=dict, repr=False)
    # Reentrant: a store made here may ask for another (the dispatcher for the deliveries).
    _making: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def idempotency(self) -> IdempotencyStore:
        return self._once("idempotency", lambda: IdempotencyStore(
            self.stores.db, self.stores.ledger.clock,
            fingerprint_key(self.stores.keys.derivation_root()),
        ))

    def portal_sessions(self) -> SessionStore:
        return self._once("portal_sessions", lambda: SessionStore(self.stores.db))

    def delivered_files(self) -> DeliveredFiles:
        return self._once("delivered_files", lambda: DeliveredFiles(
            self.stores.db, self.stores.keys, self.stores.ledger.clock
        ))

    def privacy_center_sessions(self) -> CenterSessionStore:
        """The privacy center's sessions and spent links (api/privacy_center/)."""
        from projections.storage.privacy_center_sessions import CenterSessionStore

        return self._once("privacy_center_sessions", lambda: CenterSessionStore(self.stores.db))

    # The outbox's stores (projections/outbox/): who is told what, and what was sent.
    def subscriptions(self) -> SubscriptionStore:
        return self._once("subscriptions", lambda: SubscriptionStore(
            self.stores.db, sealing_key(self.stores.keys.derivation_root())
        ))

    def deliveries(self) -> DeliveryStore:
        return self._once("deliveries", lambda: DeliveryStore(self.stores.db))

    def contacts(self) -> ContactStore:
        return self._once("contacts", lambda: ContactStore(self.stores.db))

    def systems(self) -> SystemStore:
        return self._once("systems", lambda: SystemStore(self.stores.db))

    # The websites that embed the consent banner (projections/storage/banner_sites.py).
    def sites(self) -> SiteStore:
        return self._once("sites", lambda: SiteStore(self.stores.db))

    def _once(self, name: str, make: Callable[[], Made]) -> Made:
        # Requests ask from several threads at once; each store is made once per process.
        made = self._made.get(name)
        if made is None:
            with self._making:
                made = self._made.get(name)
                if made is None:
                    made = self._made[name] = make()
        return made

    def make_every_table(self) -> None:
        """Every table a process may read or write, made now: `ledger init` does this before
        any process starts, so a read-only process (which makes none) finds them all, and
        writing processes that start together do not race to make them."""
        from api.witnesses.status import WITNESS_STATUS
        from projections.merkle_log.sealer_halts import sealer_halt
        from projections.outbox.tables import OUTBOX_TABLES
        from projections.storage.portal_sessions import PORTAL_SESSIONS, PORTAL_SPENT_LINKS
        from projections.storage.portal_sign_ins import PORTAL_PROVIDER_SESSIONS, PORTAL_SIGN_INS
        from projections.storage.privacy_center_sessions import TABLES as PRIVACY_CENTER_TABLES
        from projections.storage.banner_sites import BANNER_SITES
        from projections.storage.tables import ensure_tables

        for store in (self.idempotency, self.delivered_files, self.systems):
            store()  # each makes its table as it is made
        ensure_tables(self.stores.db, (
            *OUTBOX_TABLES, PORTAL_SESSIONS, PORTAL_SPENT_LINKS, PORTAL_SIGN_INS,
            PORTAL_PROVIDER_SESSIONS, WITNESS_STATUS, BANNER_SITES, *PRIVACY_CENTER_TABLES,
        ))
        sealer_halt(self.stores.db)  # makes its table when it looks

    def dispatcher(self) -> Dispatcher:
        """Sends what the outbox holds (api/notifications/dispatcher.py)."""
        from api.notifications.dispatcher import Dispatcher

        return self._once("dispatcher", lambda: Dispatcher(self))

    def start(self, *, projections: bool = True, sealer: bool = True, sweep: bool = True) -> None:
        """The work a process does besides answering, in background threads: the read models'
        runner, the sealer, the sweep (time makes things due, such as expiries, purges
        and overdue flags, without anyone asking), and the outbox with its dispatcher (where
        the projections run: people and systems hear what happened)."""
        if self.read_only:
            return  # nothing of this may run where nothing can be written
        assert self.outbox is not None and self.read_side.runner is not None
        if projections:
            self.read_side.runner.start()
            self.outbox.start()
            self._dispatcher = self.dispatcher()
            self._dispatcher.start()
        if sealer and self.sealer is not None:
            self.sealer.start()
            self._witnesses = self._ask_witnesses(self.sealer)
        if sweep:
            self._sweeper = start_sweeper(
                self.stores.ledger, self.read_side.read_models,
                self.settings.sweep_interval_seconds, self.stores.epochs,
                delivered_files=self.delivered_files,
            )

    def _ask_witnesses(self, sealer: Sealer) -> Any:
        """Witnesses cosign each checkpoint this process signs (LEDGER_WITNESSES; none: nothing runs)."""
        from api.witnesses.submitter import start_submitter

        if not self.settings.witnesses:
            return None
        return start_submitter(
            self.stores.db, keyfiles.signing_key(self.settings), self.settings.witnesses,
            self.settings.witness_timeout_seconds, lambda: sealer.active,
        )

    def close(self, sweep_timeout: float = 30.0) -> None:
        """Stops what runs, each after its work in progress commits or rolls back (nothing
        half-applied), then closes the stores."""
        if self._sweeper is not None:
            thread, stop = self._sweeper
            stop.set()
            thread.join(timeout=sweep_timeout)
            self._sweeper = None
        if self._witnesses is not None:
            self._witnesses.stop()
            self._witnesses = None
        if self.sealer is not None:
            self.sealer.stop()
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None
        if self.outbox is not None:
            self.outbox.stop()
        self.read_side.stop()
        self.reads.close()
        self.stores.close()
