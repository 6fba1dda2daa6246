"""Prometheus metrics for operators (docs/operations.md, "Metrics").

`install` gives the app its request figures and GET /metrics (LEDGER_METRICS_TOKEN); the
figures themselves are families.py (counted by each process) and store_figures.py (read from
the store at scrape time); processes.py makes them add up over `ledger serve --workers N` and
serves them on LEDGER_METRICS_PORT.
"""

from __future__ import annotations

from typing import Any

from api.metrics.exposition import scrape_registry
from api.metrics.families import observe_commit
from api.metrics.processes import app_store_is
from api.metrics.replica_figures import ReplicaFigures
from api.metrics.requests import RequestFigures
from api.metrics.store_figures import StoreFigures


def install(app: Any, container: Any) -> None:
    """Counts the app's requests and the ledger's commits, and serves GET /metrics to holders
    of LEDGER_METRICS_TOKEN (without one, /metrics is not served on the API's port)."""
    container.stores.ledger.watch_commits(observe_commit)

    def store() -> tuple[Any, Any]:
        return container.stores.db, container.stores.ledger

    app_store_is(store)
    token = container.settings.metrics_token
    registry = scrape_registry(StoreFigures(store))
    registry.register(ReplicaFigures(container.reads))
    app.add_middleware(
        RequestFigures, registry=registry,
        token=token.get_secret_value() if token is not None else None,
    )
