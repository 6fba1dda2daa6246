"""The clock's work: apply what time has made due, as events, and nothing twice.

Requests and grants of a terminated tenant end with its tenancy (termination ends them at
once; the sweep catches any a crash left behind), pending access requests expire, grants
end, tenants past their 60 days are purged, and
subjects' requests and incidents past their deadline are marked overdue. Each change goes
through the Ledger's own command, which re-checks the rule against the ledger's clock and
stamps the event with the moment it took effect (an expiry at `expires_at`, not at the
moment the sweep happened to run). So a second run, or two processes sweeping at once,
change nothing more: the command finds nothing due and writes nothing.

What is due comes from the read side's `due_for_sweep` when one is given (cheap); without
one it is found from the event log (`due_from_events`), which reads every open item.

What "due" means is the aggregates' (`should_be_marked_overdue`, `is_expired_pending`,
`grant_has_ended`, `outlived_its_tenancy`, `is_due_for_purge`, over domain/deadlines.py):
the read side's SQL asks the same with the cut-offs of domain/deadlines.py, and the ledger's
command asks the aggregate again before it writes anything.

The sweep also deletes the sealed copies of delivered exports that are past their time or
whose subject's key is gone (`DeliveredFiles`, made by the composition root: api/bootstrap.py
`Container.delivered_files`); that is housekeeping, not an event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.access import AccessRequest
from domain.ledger import Ledger, Outcome
from domain.data_request import DataRequest
from domain.errors import DomainError
from domain.incident import Incident
from domain.tenant import Tenant
from projections.storage.key_epochs import KeyEpochs
from projections.read_models.queries.contract import ReadSide

from api.metrics.families import sweep_ran
from api.services.delivered_files import DeliveredFiles
from api.services.key_epochs import close_epoch_if_due
from api.services.scan import originators_of

log = logging.getLogger(__name__)

ACTOR = "ledger-sweep"


@dataclass
class SweepReport:
    now: datetime
    ended_with_tenancy: list[UUID] = field(default_factory=list)
    expired_requests: list[UUID] = field(default_factory=list)
    ended_grants: list[UUID] = field(default_factory=list)
    purged_tenants: list[UUID] = field(default_factory=list)
    overdue_requests: list[UUID] = field(default_factory=list)
    overdue_incidents: list[UUID] = field(default_factory=list)
    failures: list[tuple[str, UUID, str]] = field(default_factory=list)
    position: int | None = None  # of the last event written, for read-your-writes
    forgotten_deliveries: int = 0  # sealed copies of delivered exports deleted (no event)

    @property
    def changes(self) -> int:
        return (len(self.ended_with_tenancy) + len(self.expired_requests) + len(self.ended_grants) + len(self.purged_tenants)
                + len(self.overdue_requests) + len(self.overdue_incidents))

    def as_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "ended_with_tenancy": [str(i) for i in self.ended_with_tenancy],
            "expired_requests": [str(i) for i in self.expired_requests],
            "ended_grants": [str(i) for i in self.ended_grants],
            "purged_tenants": [str(i) for i in self.purged_tenants],
            "overdue_requests": [str(i) for i in self.overdue_requests],
            "overdue_incidents": [str(i) for i in self.overdue_incidents],
            "failures": [{"kind": k, "id": str(i), "detail": d} for k, i, d in self.failures],
            "forgotten_deliveries": self.forgotten_deliveries,
            "position": self.position,
        }

    def summary(self) -> str:
        return (
            f"{len(self.ended_with_tenancy)} access requests ended with their tenancy, "
            f"{len(self.expired_requests)} access requests expired, "
            f"{len(self.ended_grants)} grants ended, {len(self.purged_tenants)} tenants purged, "
            f"{len(self.overdue_requests)} subjects' requests and "
            f"{len(self.overdue_incidents)} incidents marked overdue"
            + (f"; {self.forgotten_deliveries} kept exports deleted"
               if self.forgotten_deliveries else "")
            + (f"; {len(self.failures)} failed" if self.failures else "")
        )


def sweep(
    ledger: Ledger, read_side: ReadSide | None = None, now: datetime | None = None,
    delivered_files: Callable[[], DeliveredFiles] | None = None,
) -> SweepReport:
    """`delivered_files`: where the kept copies of delivered exports are (the container's
    `delivered_files`); without it the sweep records what is due and deletes no copy."""
    now = now or ledger.now()
    due = due_items(ledger, read_side, now)
    report = SweepReport(now=now)
    steps: list[tuple[str, list[UUID], Callable[[UUID], Outcome | None]]] = [
        ("purge_tenants", report.purged_tenants, lambda i: _purge(ledger, i)),
        ("end_with_tenancy", report.ended_with_tenancy,
         lambda i: ledger.end_access_with_tenancy(i, ACTOR)),
        ("expire_requests", report.expired_requests, ledger.expire_access_request),
        ("end_grants", report.ended_grants, ledger.end_grant),
        ("overdue_requests", report.overdue_requests, ledger.mark_data_request_overdue),
        ("overdue_incidents", report.overdue_incidents, ledger.mark_incident_overdue),
    ]
    for kind, changed, command in steps:
        for raw in due.get(kind, []):
            item = raw if isinstance(raw, UUID) else UUID(str(raw))
            try:
                outcome = command(item)
            except DomainError as error:
                # One stuck item must not stop the rest; the next run tries it again.
                log.warning("sweep: %s %s failed: %s", kind, item, error.detail)
                report.failures.append((kind, item, error.detail))
                continue
            if outcome is not None:
                changed.append(item)
                report.position = max(report.position or 0, outcome.position)
    # After the purges, so the copies of a purged tenant's subjects go in the same run.
    if delivered_files is not None:
        report.forgotten_deliveries = _forget_kept_exports(delivered_files, now)
    return report


def _forget_kept_exports(delivered_files: Callable[[], DeliveredFiles], now: datetime) -> int:
    """Housekeeping after the events: a failure here (the table being made by another process
    at the same moment, say) must not undo the sweep's work; the next run tries again."""
    try:
        return delivered_files().forget_expired(now)
    except Exception:  # noqa: BLE001 - logged, and retried by the next run
        log.warning("sweep: could not delete kept exports; trying again next run", exc_info=True)
        return 0


def _purge(ledger: Ledger, tenant_id: UUID) -> Outcome | None:
    # Re-checked on a fresh read: the tenant may have come back since the list was made.
    if not ledger.tenant(tenant_id).is_due_for_purge(ledger.now()):
        return None
    return ledger.purge_tenant(tenant_id, ACTOR)


def due_items(ledger: Ledger, read_side: ReadSide | None, now: datetime) -> dict[str, list[UUID]]:
    if read_side is not None and hasattr(read_side, "due_for_sweep"):
        return read_side.due_for_sweep(now)
    return due_from_events(ledger, now)


def due_from_events(ledger: Ledger, now: datetime) -> dict[str, list[UUID]]:
    """Without a read side: every item not yet closed by a final event is read and checked.
    Only ids are taken from the log, so nothing is decrypted until an item is read."""
    open_access = sorted(
        originators_of(ledger, AccessRequest.Requested)
        - originators_of(ledger, AccessRequest.Denied, AccessRequest.Revoked,
                         AccessRequest.Expired, AccessRequest.GrantEnded,
                         AccessRequest.EndedWithTenancy)
    )
    expire, end, ended_with_tenancy = [], [], []
    for request_id in open_access:
        # Each list is one predicate's, as the read side's are; the steps run in order and
        # the first that applies ends the request, so the later ones find nothing to do.
        request = ledger.access_request(request_id)
        if request.outlived_its_tenancy(ledger.tenant(request.tenant_id)):
            ended_with_tenancy.append(request_id)
        if request.is_expired_pending(now):
            expire.append(request_id)
        if request.grant_has_ended(now):
            end.append(request_id)
    terminated = sorted(
        originators_of(ledger, Tenant.Terminated) - originators_of(ledger, Tenant.Purged)
    )
    requests = sorted(
        originators_of(ledger, DataRequest.Received)
        - originators_of(ledger, DataRequest.Fulfilled, DataRequest.Rejected,
                         DataRequest.QuoteDeclined, DataRequest.MarkedOverdue)
    )
    incidents = sorted(
        originators_of(ledger, Incident.Reported)
        - originators_of(ledger, Incident.AuthorityNotified, Incident.MarkedOverdue)
    )
    return {
        "end_with_tenancy": ended_with_tenancy,
        "expire_requests": expire,
        "end_grants": end,
        "purge_tenants": [t for t in terminated if ledger.tenant(t).is_due_for_purge(now)],
        "overdue_requests": [
            r for r in requests if ledger.data_request(r).should_be_marked_overdue(now)
        ],
        "overdue_incidents": [
            i for i in incidents if ledger.incident(i).should_be_marked_overdue(now)
        ],
    }


def sweep_every(
    ledger: Ledger, read_side: ReadSide | None, interval_seconds: float, stop: threading.Event,
    epochs: KeyEpochs | None = None,
    delivered_files: Callable[[], DeliveredFiles] | None = None,
) -> None:
    """For `ledger serve` / `ledger worker`: sweep, wait, repeat until `stop` is set. An error
    is logged and the loop goes on; the next run picks up what this one missed. With `epochs`
    it also closes the key epoch when its time is up (api.services.key_epochs)."""
    while not stop.is_set():
        try:
            report = sweep(ledger, read_side, delivered_files=delivered_files)
            if report.changes or report.failures or report.forgotten_deliveries:
                log.info("sweep: %s", report.summary())
            if epochs is not None:
                close_epoch_if_due(ledger, epochs)
        except Exception:  # noqa: BLE001 - a background loop must outlive one bad run
            sweep_ran(ok=False)
            log.exception("sweep failed; trying again in %s s", interval_seconds)
        else:
            sweep_ran(ok=True)
        stop.wait(interval_seconds)


def start_sweeper(
    ledger: Ledger, read_side: ReadSide | None, interval_seconds: float,
    epochs: KeyEpochs | None = None,
    delivered_files: Callable[[], DeliveredFiles] | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """`delivered_files`: the container's (api/bootstrap.py), which makes the store once."""
    stop = threading.Event()
    thread = threading.Thread(
        target=sweep_every,
        args=(ledger, read_side, interval_seconds, stop, epochs, delivered_files),
        name="ledger-sweep", daemon=True,
    )
    thread.start()
    return thread, stop
