"""Whether each read replica of this process is read now (docs/deploy.md §6): one gauge per
replica, from the check the process makes anyway (at most once a second per replica)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from projections.read_models.read_sources import ReadSources


class ReplicaFigures:
    def __init__(self, sources: ReadSources) -> None:
        self.sources = sources

    def collect(self) -> Iterable[Metric]:
        states = self.sources.states()
        if not states:
            return
        family = GaugeMetricFamily(
            "ledger_read_replica_readable",
            "1 while this process reads from the replica, 0 while it is down, cut off or too "
            "far behind (LEDGER_READ_MAX_LAG_SECONDS)", labels=["replica"],
        )
        for state in states:
            family.add_metric([state["name"]], 1.0 if state["readable"] else 0.0)
        yield family
