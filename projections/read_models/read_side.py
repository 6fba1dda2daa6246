"""The read side of one process: the read models, and (optionally) their runner in the
background."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.clock import Clock
from domain.ledger.keys import KeyStore
from projections.read_models.all_read_models import read_model_projections
from projections.storage.database import Database
from projections.read_models.queries.answers import ReadModels
from projections.read_models.runner import ProjectionRunner
from projections.read_models.sealed_columns import email_lookup_key


@dataclass
class ReadSideHandle:
    read_models: ReadModels
    runner: ProjectionRunner | None  # None in a read-only process: it applies nothing

    def stop(self, timeout: float = 10.0) -> None:
        if self.runner is not None:
            self.runner.stop(timeout)


def open_read_side(
    ledger: Any,
    db: Database,
    keys: KeyStore,
    master_key: bytes,
    *,
    poll_interval: float = 0.1,
    clock: Clock | None = None,
    run_projections: bool = True,
) -> ReadSideHandle:
    """Builds the read models and their runner; starts the runner when `run_projections`.

    With PostgreSQL it is safe to run projections in every API process as well as in
    `ledger worker` processes: one applies them, the others stand by."""
    lookup_key = email_lookup_key(master_key)
    runner = ProjectionRunner(
        ledger, db, read_model_projections(keys, lookup_key), poll_interval=poll_interval
    )
    read_models = ReadModels(db, keys, lookup_key, ledger=ledger, clock=clock, runner=runner)
    if run_projections:
        runner.start()
    return ReadSideHandle(read_models=read_models, runner=runner)
