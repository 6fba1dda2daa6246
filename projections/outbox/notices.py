"""The outbox's tracked consumer: each event someone must hear about becomes a notice, written
in the batch that moves the consumer's tracking position, so a notice is neither lost nor made
twice, whenever the process dies.

It runs in its own runner group ("outbox"), apart from the read models: `ledger projections
rebuild` never touches it (a rebuild would tell everyone everything again), and on a store that
already has a history it starts at the log's head (`start_at_head`): people hear of what happens
from the day the outbox is installed, not of years past. The notice keeps what the event says
that the message needs; who hears it is decided when it is fanned out (deliveries.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.access import AccessRequest
from domain.data_request import DataRequest
from domain.disclosure import Disclosure
from domain.incident import Incident
from domain.notifications import NoticeType
from domain.subject import Subject
from domain.tenant import Tenant
from projections.outbox.tables import (
    OUTBOX_DELIVERIES, OUTBOX_NOTICES, TENANT_CONTACTS, WEBHOOK_SUBSCRIPTIONS,
)
from projections.read_models.base import Handler, Projection, Writer
from projections.read_models.tables import TRACKING_TABLE, create_bookkeeping_tables, micros
from projections.storage.database import Database
from projections.storage.tables import Table

if TYPE_CHECKING:
    from projections.read_models.runner import ProjectionRunner

NAME = "outbox"
# What the outbox remembers of an access request, for its later events that do not carry it.
OUTBOX_ACCESS_REQUESTS = Table(
    "outbox_access_requests", "request_id TEXT, tenant_id TEXT NOT NULL, requester TEXT NOT NULL",
    key=("request_id",),
)
# Events of an access request that its tenant's subscribers hear about, and the notice each is.
_ACCESS_STEPS = {
    AccessRequest.Approved: NoticeType.ACCESS_APPROVED,
    AccessRequest.Denied: NoticeType.ACCESS_DENIED,
    AccessRequest.Revoked: NoticeType.ACCESS_REVOKED,
    AccessRequest.Expired: NoticeType.ACCESS_EXPIRED,
}


class OutboxNotices(Projection):
    name = NAME
    # Its own tables, and the outbox's others it changes (made here, so they exist before the
    # first batch that touches them).
    tables = (
        OUTBOX_NOTICES, OUTBOX_ACCESS_REQUESTS, TENANT_CONTACTS, WEBHOOK_SUBSCRIPTIONS,
        OUTBOX_DELIVERIES,
    )

    def handlers(self) -> dict[type, Handler]:
        found: dict[type, Handler] = {
            AccessRequest.Requested: self._access_requested,
            AccessRequest.AccessRecorded: self._access_used,
            AccessRequest.AccessRefused: self._access_refused,
            Incident.Reported: self._incident_reported,
            Incident.CustomerNotified: self._customer_notified,
            Incident.MarkedOverdue: self._incident_overdue,
            Disclosure.Recorded: self._disclosure,
            DataRequest.MarkedOverdue: self._request_overdue,
            DataRequest.PropagationStarted: self._propagation_started,
            DataRequest.PropagationConfirmed: self._propagation_answered,
            DataRequest.PropagationFailed: self._propagation_answered,
            Subject.ConsentGiven: self._consent_changed,
            Subject.ConsentWithdrawn: self._consent_changed,
            Subject.Erased: self._erased,
            Tenant.Purged: self._tenant_purged,
        }
        for step in _ACCESS_STEPS:
            found[step] = self._access_step
        return found

    def _access_requested(self, w: Writer, event: Any, position: int) -> None:
        request_id = str(event.originator_id)
        w.insert(OUTBOX_ACCESS_REQUESTS, {
            "request_id": request_id, "tenant_id": str(event.tenant_id),
            "requester": event.requester,
        })
        _notice(w, event, position, NoticeType.ACCESS_REQUESTED, event.tenant_id, {
            "scope": event.scope,
            "resources": list(event.resources), "ticket": event.ticket,
            "expires_at": event.expires_at.isoformat(),
        })

    def _access_step(self, w: Writer, event: Any, position: int) -> None:
        """The tenant and requester come from what the outbox kept of the request; a request
        made before the outbox was installed has none, and its later steps tell no one."""
        kind = _ACCESS_STEPS[type(event)]
        data = {"valid_until": event.valid_until.isoformat()} if hasattr(event, "valid_until") else {}
        row = _row(event, position, kind, None, data)
        w.insert_copying(
            OUTBOX_NOTICES, {k: v for k, v in row.items() if k not in ("tenant_id", "requester")},
            OUTBOX_ACCESS_REQUESTS, (str(event.originator_id),),
            {"tenant_id": "tenant_id", "requester": "requester"},
        )

    def _access_used(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.ACCESS_USED, event.tenant_id, {
            "actor": event.actor, "resource": event.resource, "action": event.action,
        })

    def _access_refused(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.ACCESS_REFUSED, event.tenant_id, {
            "actor": event.actor, "resource": event.resource, "action": event.action,
            "refusal": event.refusal,
        })

    def _incident_reported(self, w: Writer, event: Any, position: int) -> None:
        for tenant_id in event.tenant_ids:  # each affected customer hears of it on its own
            _notice(w, event, position, NoticeType.INCIDENT_REPORTED, tenant_id, {
                "title": event.title, "severity": event.severity,
                "aware_at": event.aware_at.isoformat(),
            })

    def _customer_notified(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.INCIDENT_CUSTOMER_NOTIFIED, event.tenant_id, {})

    def _incident_overdue(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.INCIDENT_OVERDUE, None, {
            "authority_due_at": event.authority_due_at.isoformat(),
        })

    def _disclosure(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.DISCLOSURE_RECORDED, event.tenant_id, {
            "legal_basis": event.legal_basis,
        })

    def _request_overdue(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.DATA_REQUEST_OVERDUE, None, {
            "due_at": event.due_at.isoformat(),
        })

    def _propagation_started(self, w: Writer, event: Any, position: int) -> None:
        kind = (
            NoticeType.ERASURE_REQUESTED if event.kind == "erasure"
            else NoticeType.RECTIFICATION_REQUESTED
        )
        _notice(w, event, position, kind, None, {
            "request_id": str(event.originator_id), "systems": [str(s) for s in event.systems],
        }, subject_id=event.subject_id)

    def _propagation_answered(self, w: Writer, event: Any, position: int) -> None:
        kind = (
            NoticeType.PROPAGATION_CONFIRMED if isinstance(event, DataRequest.PropagationConfirmed)
            else NoticeType.PROPAGATION_FAILED
        )
        _notice(w, event, position, kind, None, {"system_id": str(event.system_id)})

    def _consent_changed(self, w: Writer, event: Any, position: int) -> None:
        status = "given" if isinstance(event, Subject.ConsentGiven) else "withdrawn"
        _notice(w, event, position, NoticeType.CONSENT_CHANGED, None, {
            "purpose": event.purpose, "channel": event.channel, "status": status,
        }, subject_id=event.originator_id)

    def _erased(self, w: Writer, event: Any, position: int) -> None:
        _notice(w, event, position, NoticeType.ERASURE_FULFILLED, None, {
            "request_id": None if event.request_id is None else str(event.request_id),
        }, subject_id=event.originator_id)


    def _tenant_purged(self, w: Writer, event: Any, position: int) -> None:
        """A purged tenant's approvers' addresses go with it, as do its subscriptions and the
        mail that was sent to those addresses: nothing of its people is kept."""
        tenant = str(event.originator_id)
        w.delete_where(TENANT_CONTACTS, {"tenant_id": tenant})
        w.delete_where(WEBHOOK_SUBSCRIPTIONS, {"tenant_id": tenant})
        w.delete_where(OUTBOX_DELIVERIES, {"tenant_id": tenant, "channel": "email"})
        w.delete_where(OUTBOX_ACCESS_REQUESTS, {"tenant_id": tenant})


def notice_id(position: int, kind: str, tenant_id: UUID | str | None) -> str:
    return f"{position}:{kind}:{tenant_id or '-'}"


def _row(
    event: Any, position: int, kind: NoticeType, tenant_id: UUID | None, data: dict[str, Any],
    subject_id: UUID | None = None,
) -> dict[str, Any]:
    return {
        "id": notice_id(position, kind.value, tenant_id), "position": position,
        "type": kind.value, "tenant_id": None if tenant_id is None else str(tenant_id),
        "subject_id": None if subject_id is None else str(subject_id),
        "requester": getattr(event, "requester", None),
        "about_id": str(event.originator_id), "occurred_at": micros(event.timestamp),
        "data": json.dumps(data, sort_keys=True), "fanned": 0,
    }


def _notice(
    w: Writer, event: Any, position: int, kind: NoticeType, tenant_id: UUID | None,
    data: dict[str, Any], subject_id: UUID | None = None,
) -> None:
    w.insert(OUTBOX_NOTICES, _row(event, position, kind, tenant_id, data, subject_id))


def outbox_runner(ledger: Any, db: Database, poll_interval: float) -> ProjectionRunner:
    """The outbox's consumer of the log, in a runner group of its own; a store that never had
    one starts it at the log's head."""
    from projections.read_models.runner import ProjectionRunner

    start_at_head(db, int(ledger.recorder.max_notification_id() or 0))
    return ProjectionRunner(
        ledger, db, [OutboxNotices()], group="outbox", poll_interval=poll_interval
    )


def start_at_head(db: Database, head: int) -> None:
    """A store that has never had an outbox gets one that starts at `head`; one that has keeps
    its position (a no-op)."""
    create_bookkeeping_tables(db)
    db.execute(
        f"INSERT INTO {TRACKING_TABLE} (name, position) VALUES (%s, %s) "
        "ON CONFLICT (name) DO NOTHING", (NAME, head),
    )
