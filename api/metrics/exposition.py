"""What a scrape answers: the figures the processes counted and the figures read from the store,
as one registry, in the format the scraper asks for.

One process (`ledger serve` with one worker, `ledger worker`): prometheus-client's default
registry. Several (`ledger serve --workers N`, PROMETHEUS_MULTIPROC_DIR set by
api/metrics/processes.py): the sum over every worker's files, so any worker, or the parent,
answers for all of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder

from api.metrics.store_figures import StoreFigures

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class _ThisProcess:
    """The default registry as one collector of another registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def scrape_registry(figures: StoreFigures | None, serving: bool = True) -> CollectorRegistry:
    """The registry a scrape of this process reads: the counted figures (this process's, or
    every `ledger serve` worker's when `serving`) and, when given, the store's."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get(MULTIPROCESS_ENV) if serving else None
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_ThisProcess())
    if figures is not None:
        registry.register(figures)
    return registry


def render(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The exposition (Prometheus text, or OpenMetrics when asked for) and its content type."""
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
