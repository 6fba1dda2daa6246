"""Metrics across processes (`ledger serve --workers N`) and on their own port (LEDGER_METRICS_PORT).

Several workers: prometheus-client's multiprocess mode. `before_serving` runs in `ledger
serve`'s parent before uvicorn spawns the workers, so each worker imports prometheus-client
with PROMETHEUS_MULTIPROC_DIR already set and writes its counts to files of its own there; a
scrape of any worker, or of the parent's port, sums every worker's files. The directory is
fresh and private for each run (an operator's own PROMETHEUS_MULTIPROC_DIR is emptied at
start instead), so no count of an earlier run is summed in. A worker that dies keeps its
counts in the sum (they are counters and histograms only: nothing of it would be "live"), so
every figure still only rises across a restart of a worker.

The port (LEDGER_METRICS_HOST:LEDGER_METRICS_PORT, no token: bind it where only the scraper
reaches) is served by `ledger serve`'s own process and by `ledger worker`, from a thread.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server

from api.metrics.exposition import MULTIPROCESS_ENV, scrape_registry
from api.metrics.families import observe_commit
from api.metrics.store_figures import StoreFigures, StoreSource

# The store of the app this process serves, once there is one (`ledger serve` with one
# worker runs the app in its own process): its port reads that, not a store of its own.
_app_store: StoreSource | None = None


def app_store_is(source: StoreSource) -> None:
    """Called by `api.metrics.install` for the app of this process."""
    global _app_store
    _app_store = source


class MetricsServer:
    """/metrics on a port of its own, from a thread, until `close()`."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry) -> None:
        try:
            self._httpd, self._thread = start_http_server(port, addr=host, registry=registry)
        except OSError as error:
            raise SystemExit(f"LEDGER_METRICS_PORT {host}:{port}: {error.strerror}") from None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def before_serving(settings: Any, workers: int) -> MetricsServer | None:
    """In `ledger serve`'s parent, before uvicorn starts its worker processes."""
    if workers > 1 or os.environ.get(MULTIPROCESS_ENV):
        _fresh_directory()
    if settings.metrics_port is None:
        return None
    figures = StoreFigures(_serving_store(settings))
    server = MetricsServer(settings.metrics_host, settings.metrics_port, scrape_registry(figures))
    atexit.register(server.close)
    return server


def serve_for_worker(settings: Any, container: Any) -> MetricsServer | None:
    """In `ledger worker`: its writes watched (the sweep's), and LEDGER_METRICS_PORT served
    until the returned handle is closed."""
    container.stores.ledger.watch_commits(observe_commit)
    if settings.metrics_port is None:
        return None
    figures = StoreFigures(lambda: (container.stores.db, container.stores.ledger))
    # Its own counts only, even where PROMETHEUS_MULTIPROC_DIR is set (a `ledger serve`'s).
    registry = scrape_registry(figures, serving=False)
    return MetricsServer(settings.metrics_host, settings.metrics_port, registry)


def _fresh_directory() -> None:
    given = os.environ.get(MULTIPROCESS_ENV)
    if given:
        # The operator's: emptied of an earlier run's files (prometheus-client's are *.db),
        # but for this process's own, which it may have opened already.
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            if not stale.stem.endswith(f"_{os.getpid()}"):
                stale.unlink(missing_ok=True)
        return
    made = tempfile.mkdtemp(prefix="ledger-metrics-")  # 0700: the counts are this run's
    os.environ[MULTIPROCESS_ENV] = made  # inherited by every worker uvicorn spawns
    atexit.register(shutil.rmtree, made, ignore_errors=True)


def _serving_store(settings: Any) -> StoreSource:
    """The store `ledger serve`'s own process reads for its port: the app's when the app runs
    here, else (the parent of several workers) a store opened for reading on the first scrape."""
    opened: list[tuple[Any, Any]] = []

    def source() -> tuple[Any, Any]:
        if _app_store is not None:
            return _app_store()
        if not opened:
            opened.append(_open_for_reading(settings))
        return opened[0]

    return source


def _open_for_reading(settings: Any) -> tuple[Any, Any]:
    """The ledger's tables and its events, for SELECTs only: no table made, nothing written."""
    from api.bootstrap_reads import reading_url
    from domain.ledger import Ledger
    from projections.storage.database import event_store_env, open_database
    from projections.storage.sqlite import MEMORY_URL

    url = reading_url(settings)
    if url.startswith(MEMORY_URL):
        raise LookupError("a memory store is the app's own: nothing to read before it runs")
    db = open_database(url)
    try:
        ledger = Ledger(env={**event_store_env(url), "CREATE_TABLE": "n"}, group_commit=False)
    except BaseException:
        db.close()
        raise
    return db, ledger

