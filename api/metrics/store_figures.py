"""The figures read from the store when /metrics is scraped: how far each tracked consumer of the
log (the read models, the outbox, the sealer) is behind, the latest checkpoint, the outbox's
queue and failures, the key epoch's age.

The same from every process over one store, so they are read at scrape time, not counted: a
prometheus-client custom collector. SELECTs only, each on an index or a one-row table, so it
works on a hot standby too (a read-only process may create and write nothing), and the answer
is kept for `MAX_AGE_SECONDS`, so many scrapers cannot make the store work hard. A store that
does not answer gives `ledger_store_up 0` and none of the others, never an error; a table a
store does not have yet (nothing sealed, no outbox used) gives none of its families.

Seconds behind: the age of the oldest event a consumer has not applied yet (now − the time the
ledger recorded it), 0 when it has caught up. It rises while a consumer stands still with work
waiting, whatever the write rate, and is what a reader waiting for `min_position` may wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from eventsourcing.persistence import Mapper
from prometheus_client.core import GaugeMetricFamily, Metric

from projections.merkle_log.store import MERKLE_TABLES
from projections.outbox.delivery_rows import EXPIRED, PENDING, REJECTED
from projections.outbox.tables import OUTBOX_DELIVERIES, OUTBOX_NOTICES
from projections.read_models.tables import FAILURES_TABLE, TRACKING_TABLE
from projections.storage.database import Database, ask_within
from projections.storage.key_store import KEY_EPOCHS

log = logging.getLogger("ledger.metrics")

MAX_AGE_SECONDS = 1.0
CHECK_TIMEOUT_SECONDS = 2.0  # for a connection from the pool: a scrape must not hang
_MERKLE_STATE, _CHECKPOINTS = MERKLE_TABLES[2].name, MERKLE_TABLES[3].name
_KEPT_TIMES = 64  # events' recorded times kept: positions consumers stand at
CHANNELS = ("email", "webhook")  # shown at 0 too, so an alert has a series from the start

StoreSource = Callable[[], "tuple[Database, Any]"]
"""The database of the ledger's tables and the Ledger (for its events), opened when first asked."""


class StoreFigures:
    """A prometheus-client collector of what the store says, read at most once a second."""

    def __init__(self, source: StoreSource, max_age: float = MAX_AGE_SECONDS) -> None:
        self.source = source
        self.max_age = max_age
        self._lock = threading.Lock()  # one reading at a time; the others take its answer
        self._read_at = float("-inf")
        self._families: list[Metric] = []
        self._times: OrderedDict[int, float | None] = OrderedDict()
        self._answered = True  # said once when the store stops answering, not every scrape

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.max_age:
                self._families = self._read()
                self._read_at = time.monotonic()
            families = self._families
        return iter(families)

    def _read(self) -> list[Metric]:
        up = GaugeMetricFamily("ledger_store_up", "1 when the store answered this scrape, else 0")
        try:
            db, ledger = self.source()
            _answers(db)
            head = int(ledger.recorder.max_notification_id() or 0)
        except Exception as error:  # a store down is a figure, not an error of /metrics
            if self._answered:
                log.warning("metrics: the store does not answer (%s)", type(error).__name__)
            self._answered = False
            up.add_metric([], 0)
            return [up]
        self._answered = True
        up.add_metric([], 1)
        families: list[Metric] = [up, _gauge(
            "ledger_log_head_position", "The highest position (notification id) in the log", head
        )]
        now = time.time()
        for part in (self._consumers, self._sealing, _checkpoint, _outbox, _key_epoch):
            try:
                families.extend(part(db, ledger, head, now))
            except Exception as error:  # a table this store has not made yet
                log.debug("metrics: %s gave nothing (%s)", part.__name__, type(error).__name__)
        return families

    def _consumers(self, db: Database, ledger: Any, head: int, now: float) -> list[Metric]:
        labels = ("read_model",)
        position = GaugeMetricFamily(
            "ledger_projection_position", "The position a read model has applied up to",
            labels=labels,
        )
        behind = GaugeMetricFamily(
            "ledger_projection_lag_positions",
            "Positions between the log's head and a read model's (ids may have gaps)",
            labels=labels,
        )
        seconds = GaugeMetricFamily(
            "ledger_projection_lag_seconds",
            "Age of the oldest event a read model has not applied, 0 when caught up", labels=labels,
        )
        stopped = GaugeMetricFamily(
            "ledger_projection_stopped",
            "1 while a read model is stopped by an event it could not apply", labels=labels,
        )
        failed = {row[0] for row in db.fetchall(f"SELECT name FROM {FAILURES_TABLE}")}
        for name, at in db.fetchall(f"SELECT name, position FROM {TRACKING_TABLE} ORDER BY name"):
            at = int(at)
            position.add_metric([name], at)
            behind.add_metric([name], max(head - at, 0))
            seconds.add_metric([name], self._waiting_since(ledger, at, head, now))
            stopped.add_metric([name], 1 if name in failed else 0)
        return [position, behind, seconds, stopped]

    def _sealing(self, db: Database, ledger: Any, head: int, now: float) -> list[Metric]:
        row = db.fetchone(f"SELECT tree_size, last_notification_id FROM {_MERKLE_STATE}")
        size, sealed = (int(row[0]), int(row[1])) if row else (0, 0)
        return [
            _gauge("ledger_sealed_position", "The last position added to the Merkle log", sealed),
            _gauge("ledger_merkle_tree_size", "Leaves in the Merkle log (events sealed)", size),
            _gauge(
                "ledger_unsealed_positions", "Positions between the log's head and the sealer's",
                max(head - sealed, 0),
            ),
            _gauge(
                "ledger_oldest_unsealed_event_age_seconds",
                "Age of the oldest event not yet in the Merkle log, 0 when all are sealed",
                self._waiting_since(ledger, sealed, head, now),
            ),
        ]

    def _waiting_since(self, ledger: Any, position: int, head: int, now: float) -> float:
        """How long the first event after `position` has been waiting: 0 when there is none."""
        if position >= head:
            return 0.0
        recorded = self._recorded_at(ledger, position + 1)
        return 0.0 if recorded is None else max(now - recorded, 0.0)

    def _recorded_at(self, ledger: Any, start: int) -> float | None:
        if start in self._times:
            self._times.move_to_end(start)
            return self._times[start]
        found = ledger.recorder.select_notifications(start=start, limit=1)
        # Only the event's own fields are decoded (personal ones stay sealed): its timestamp.
        recorded = (
            _seconds(Mapper.to_domain_event(ledger.mapper, found[0]).timestamp) if found else None
        )
        if recorded is not None:  # an event that is there keeps its time; "none yet" does not
            self._times[start] = recorded
            if len(self._times) > _KEPT_TIMES:
                self._times.popitem(last=False)
        return recorded


def _checkpoint(db: Database, ledger: Any, head: int, now: float) -> list[Metric]:
    row = db.fetchone(
        f"SELECT tree_size, timestamp FROM {_CHECKPOINTS} ORDER BY tree_size DESC LIMIT 1"
    )
    if row is None:
        return []
    signed = _seconds(datetime.fromisoformat(row[1]))
    return [
        _gauge("ledger_checkpoint_tree_size", "Tree size of the latest signed checkpoint",
               int(row[0])),
        _gauge("ledger_checkpoint_timestamp_seconds", "When the latest checkpoint was signed "
               "(Unix time)", signed),
        _gauge("ledger_checkpoint_age_seconds", "Age of the latest signed checkpoint",
               max(now - signed, 0.0)),
    ]


def _outbox(db: Database, ledger: Any, head: int, now: float) -> list[Metric]:
    waiting = db.fetchone(f"SELECT COUNT(*) FROM {OUTBOX_NOTICES.name} WHERE fanned = 0")
    rows = db.fetchall(
        f"SELECT channel, status, COUNT(*), SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END) "
        f"FROM {OUTBOX_DELIVERIES.name} WHERE status IN (%s, %s, %s) GROUP BY channel, status",
        (PENDING, EXPIRED, REJECTED),
    )
    queued = GaugeMetricFamily(
        "ledger_outbox_queue_depth", "Deliveries waiting to be sent or retried, by channel",
        labels=("channel",),
    )
    failing = GaugeMetricFamily(
        "ledger_outbox_failing_deliveries",
        "Deliveries still being retried after a failed attempt, by channel", labels=("channel",),
    )
    given_up = GaugeMetricFamily(
        "ledger_outbox_failed_deliveries",
        "Deliveries given up for good, by channel and status (expired or rejected)",
        labels=("channel", "status"),
    )
    counts = {
        (channel, status): (int(count), int(tried or 0)) for channel, status, count, tried in rows
    }
    for channel in sorted({*CHANNELS, *(channel for channel, _ in counts)}):
        count, tried = counts.get((channel, PENDING), (0, 0))
        queued.add_metric([channel], count)
        failing.add_metric([channel], tried)
        for status in (EXPIRED, REJECTED):
            given_up.add_metric([channel, status], counts.get((channel, status), (0, 0))[0])
    notices = _gauge(
        "ledger_outbox_notices_waiting", "Notices not yet fanned out to their receivers",
        int(waiting[0]) if waiting else 0,
    )
    return [notices, queued, failing, given_up]


def _key_epoch(db: Database, ledger: Any, head: int, now: float) -> list[Metric]:
    row = db.fetchone(f"SELECT epoch, opened_at FROM {KEY_EPOCHS.name} ORDER BY epoch DESC LIMIT 1")
    if row is None:
        return []
    opened = _seconds(datetime.fromisoformat(str(row[1])))
    return [
        _gauge("ledger_key_epoch", "The current key epoch (docs/erasure.md)", int(row[0])),
        _gauge("ledger_key_epoch_age_seconds", "Time since the current key epoch opened",
               max(now - opened, 0.0)),
    ]


def _answers(db: Database) -> None:
    ask_within(db, "SELECT 1", CHECK_TIMEOUT_SECONDS)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _seconds(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
