"""Security incidents with their 72-hour clock, and which affected customer was told when."""

from __future__ import annotations

from domain.incident import Incident
from projections.read_models.base import Handler, Projection, Writer
from projections.read_models.tables import INCIDENT_TENANTS, INCIDENTS, micros


class Incidents(Projection):
    name = "incidents"
    tables = (INCIDENTS, INCIDENT_TENANTS)
    version = 2  # 2: the Message-ID of a customer's notice the ledger mailed

    def handlers(self) -> dict[type, Handler]:
        return {
            Incident.Reported: self._reported,
            Incident.CustomerNotified: self._customer_notified,
            Incident.AuthorityNotified: self._authority_notified,
            Incident.MarkedOverdue: self._overdue,
        }

    def _reported(self, w: Writer, event: Incident.Reported, position: int) -> None:
        iid = str(event.originator_id)
        w.insert(INCIDENTS, {
            "id": iid, "title": event.title, "description": event.description,
            "severity": event.severity, "aware_at": micros(event.aware_at),
            "authority_due_at": micros(event.authority_due_at), "authority_notified_at": None,
            "authority_reference": None, "overdue": 0, "reported_at": micros(event.timestamp),
            "actor": event.actor, "position": position,
        })
        for tenant_id in event.tenant_ids:
            w.insert(INCIDENT_TENANTS, {
                "incident_id": iid, "tenant_id": str(tenant_id), "incident_position": position,
                "notified_at": None, "notified_by": None, "notice_message_id": None,
            })

    def _customer_notified(
        self, w: Writer, event: Incident.CustomerNotified, position: int
    ) -> None:
        w.update(
            INCIDENT_TENANTS, (str(event.originator_id), str(event.tenant_id)),
            {"notified_at": micros(event.timestamp), "notified_by": event.actor,
             "notice_message_id": event.message_id},
        )

    def _authority_notified(
        self, w: Writer, event: Incident.AuthorityNotified, position: int
    ) -> None:
        w.update(INCIDENTS, (str(event.originator_id),), {
            "authority_notified_at": micros(event.timestamp),
            "authority_reference": event.reference,
        })

    def _overdue(self, w: Writer, event: Incident.MarkedOverdue, position: int) -> None:
        w.update(INCIDENTS, (str(event.originator_id),), {"overdue": 1})
