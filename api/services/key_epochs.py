"""Closing key epochs and recording the erasures that became final, for the sweep and the CLI.

The key store decides what is final (projections.storage.key_epochs, by the rules of
domain.key_epochs); this writes it into the ledger: an erased subject gets
`ErasureBecameFinal`, a purged tenant `PurgeBecameFinal`. The event goes first and the key row
is marked after, so a crash in between only makes the next run try again, and the aggregate
refuses a second event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from domain.ledger import Ledger
from domain.errors import NotFound, StateConflict
from domain.vocabulary import TenantStatus
from projections.storage.key_epochs import CloseReport, FinalErasure, KeyEpochs, Progress

log = logging.getLogger(__name__)


@dataclass
class EpochClose:
    report: CloseReport | None  # None: no epoch was closed
    final: list[FinalErasure] = field(default_factory=list)
    position: int | None = None  # of the last event written, for read-your-writes


def record_final_erasures(ledger: Ledger, epochs: KeyEpochs) -> EpochClose:
    outcome = EpochClose(report=None)
    for erasure in epochs.newly_final():
        try:
            if erasure.owner_id == erasure.tenant_id:
                written = ledger.record_purge_final(
                    erasure.owner_id, erasure.at, erasure.last_epoch
                )
            else:
                written = ledger.record_erasure_final(
                    erasure.owner_id, erasure.at, erasure.last_epoch
                )
        except (NotFound, StateConflict):
            if not _went_with_a_purge(ledger, erasure):
                # Shredded but not (yet) erased: an erasure that crashed between destroying the
                # key and writing `Erased`. Left pending, so that once a retry writes `Erased`
                # the next close records it final.
                continue
            # A subject whose key went with its tenant's purge was not erased itself: the
            # tenant's event tells for it. Its key is final all the same.
            written = None
        if written is not None:
            outcome.position = written.position
        epochs.mark_final(erasure)
        outcome.final.append(erasure)
    return outcome


def _went_with_a_purge(ledger: Ledger, erasure: FinalErasure) -> bool:
    if erasure.tenant_id is None:
        return False
    try:
        return ledger.tenant(erasure.tenant_id).status == TenantStatus.PURGED
    except NotFound:
        return False


def close_epoch(
    ledger: Ledger, epochs: KeyEpochs, progress: Progress | None = None, wait: bool = True
) -> EpochClose:
    """Closes the current epoch now (`ledger keys close-epoch`)."""
    report = epochs.close(progress, wait=wait)
    outcome = record_final_erasures(ledger, epochs)
    outcome.report = report
    return outcome


def close_epoch_if_due(ledger: Ledger, epochs: KeyEpochs) -> EpochClose | None:
    """For the sweep: closes the epoch when its time is up, unless another process is at it."""
    if not epochs.due(ledger.now()):
        return None
    outcome = close_epoch(ledger, epochs, wait=False)
    if outcome.report is not None:
        log.info(
            "key epoch %s opened: %s data keys re-wrapped, KEKs of epochs %s destroyed, "
            "%s erasures final", outcome.report.opened, outcome.report.rewrapped,
            outcome.report.destroyed or "none", len(outcome.final),
        )
    return outcome
