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

The sweep also deletes the sealed copies of delivered exports that are past their time or
whose subject's key is gone (`delivered_files`); that is housekeeping, not an event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.access import APPROVED, PENDING, AccessRequest
from domain.ledger import Ledger, Outcome
from domain.data_request import DataRequest
from domain.errors import DomainError
from domain.incident import Incident
from domain.tenant import Tenant
from projections.storage.key_epochs import KeyEpochs
from projections.read_models.queries.contract import ReadSide

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
    files: DeliveredFiles | None = None,
) -> SweepReport:
    """`files`: the kept copies of delivered exports; by default those in the read side's
    database when it has one."""
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
    report.forgotten_deliveries = _forget_kept_exports(ledger, read_side, files, now)
    return report


def _forget_kept_exports(
    ledger: Ledger, read_side: ReadSide | None, files: DeliveredFiles | None, now: datetime
) -> int:
    """Housekeeping after the events: a failure here (the table being made by another process
    at the same moment, say) must not undo the sweep's work; the next run tries again."""
    try:
        files = files or delivered_files_of(ledger, read_side)
        return 0 if files is None else files.forget_expired(now)
    except Exception:  # noqa: BLE001 - logged, and retried by the next run
        log.warning("sweep: could not delete kept exports; trying again next run", exc_info=True)
        return 0


def delivered_files_of(ledger: Ledger, read_side: ReadSide | None) -> DeliveredFiles | None:
    db = getattr(read_side, "db", None)
    return None if db is None else DeliveredFiles(db, ledger.keys, ledger.clock)


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
        request = ledger.access_request(request_id)
        tenant = ledger.tenant(request.tenant_id)
        if request.status in (PENDING, APPROVED) and not (
            tenant.is_active and request.belongs_to_current_tenancy(tenant)
        ):
            ended_with_tenancy.append(request_id)
        elif request.is_expired_pending(now):
            expire.append(request_id)
        elif request.status == APPROVED and request.valid_until and now >= request.valid_until:
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
            r for r in requests
            if (dr := ledger.data_request(r)).is_open and not dr.overdue and now > dr.due_at
        ],
        "overdue_incidents": [
            i for i in incidents
            if (inc := ledger.incident(i)).authority_notified_at is None
            and now > inc.authority_due_at
        ],
    }


def sweep_every(
    ledger: Ledger, read_side: ReadSide | None, interval_seconds: float, stop: threading.Event,
    epochs: KeyEpochs | None = None,
) -> None:
    """For `ledger serve` / `ledger worker`: sweep, wait, repeat until `stop` is set. An error
    is logged and the loop goes on; the next run picks up what this one missed. With `epochs`
    it also closes the key epoch when its time is up (api.services.key_epochs)."""
    files: DeliveredFiles | None = None
    while not stop.is_set():
        try:
            if files is None:
                # Made once, not every minute; a failure is left to `sweep` to log and retry.
                try:
                    files = delivered_files_of(ledger, read_side)
                except Exception:  # noqa: BLE001
                    files = None
            report = sweep(ledger, read_side, files=files)
            if report.changes or report.failures or report.forgotten_deliveries:
                log.info("sweep: %s", report.summary())
            if epochs is not None:
                close_epoch_if_due(ledger, epochs)
        except Exception:  # noqa: BLE001 - a background loop must outlive one bad run
            log.exception("sweep failed; trying again in %s s", interval_seconds)
        stop.wait(interval_seconds)


def start_sweeper(
    ledger: Ledger, read_side: ReadSide | None, interval_seconds: float,
    epochs: KeyEpochs | None = None,
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=sweep_every, args=(ledger, read_side, interval_seconds, stop, epochs),
        name="ledger-sweep", daemon=True,
    )
    thread.start()
    return thread, stop
