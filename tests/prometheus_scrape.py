"""A scrape of /metrics as a test reads it: parsed by prometheus-client's own parser (so what
the ledger serves is what Prometheus can read), then looked up by sample name and labels."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Scrape:
    text: str

    def __post_init__(self) -> None:
        self.families = {family.name: family for family in text_string_to_metric_families(self.text)}
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in self.families.values() for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        """The sample `name` with exactly these labels; None when there is none."""
        return self.samples.get((name, frozenset(labels.items())))

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples `name` whose labels include these (0 when there are none)."""
        wanted = set(labels.items())
        return sum(
            value for (sample, have), value in self.samples.items()
            if sample == name and wanted <= have
        )

    def labels_of(self, name: str, label: str) -> set[str]:
        return {
            dict(have)[label] for (sample, have), _ in self.samples.items()
            if sample == name and label in dict(have)
        }
