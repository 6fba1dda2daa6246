"""Security incidents with their 72-hour clock, and which affected customer was told when."""

from __future__ import annotations

from domain.incident import Incident
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.tables import INCIDENT_TENANTS, INCIDENTS, micros


class Incidents(Projection):
    name = "incidents"
    tables = (INCIDENTS, INCIDENT_TENANTS)

    def handlers(self) -> dict[type, Handler]:
        return {
            Incident.Reported: self._reported,
            Incident.CustomerNotified: self._customer_notified,
            Incident.AuthorityNotified: self._authority_notified,
            Incident.MarkedOverdue: self._overdue,
        }

    def _reported(self, cur: Cursor, event: Incident.Reported, position: int) -> None:
        iid = str(event.originator_id)
        cur.execute(
            "INSERT INTO incidents (id, title, description, severity, aware_at, authority_due_at, "
            "authority_notified_at, authority_reference, overdue, reported_at, actor, position) "
            "VALUES (%s, %s, %s, %s, %s, %s, NULL, NULL, 0, %s, %s, %s)",
            (iid, event.title, event.description, event.severity, micros(event.aware_at),
             micros(event.authority_due_at), micros(event.timestamp), event.actor, position),
        )
        for tenant_id in event.tenant_ids:
            cur.execute(
                "INSERT INTO incident_tenants (incident_id, tenant_id, incident_position, "
                "notified_at, notified_by) VALUES (%s, %s, %s, NULL, NULL)",
                (iid, str(tenant_id), position),
            )

    def _customer_notified(
        self, cur: Cursor, event: Incident.CustomerNotified, position: int
    ) -> None:
        cur.execute(
            "UPDATE incident_tenants SET notified_at = %s, notified_by = %s "
            "WHERE incident_id = %s AND tenant_id = %s",
            (micros(event.timestamp), event.actor, str(event.originator_id), str(event.tenant_id)),
        )

    def _authority_notified(
        self, cur: Cursor, event: Incident.AuthorityNotified, position: int
    ) -> None:
        cur.execute(
            "UPDATE incidents SET authority_notified_at = %s, authority_reference = %s "
            "WHERE id = %s",
            (micros(event.timestamp), event.reference, str(event.originator_id)),
        )

    def _overdue(self, cur: Cursor, event: Incident.MarkedOverdue, position: int) -> None:
        cur.execute("UPDATE incidents SET overdue = 1 WHERE id = %s", (str(event.originator_id),))
