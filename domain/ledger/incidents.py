"""The Ledger's commands on incidents, disclosures to third parties, and the vendor's own reads
of a subject's personal data."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import values
from domain.disclosure import Disclosure
from domain.errors import InvalidInput, NotFound
from domain.incident import Incident
from domain.ledger.base import LedgerBase, Outcome
from domain.ledger.erasure import SUBJECT_CREATED
from domain.vendor_read import VendorRead


class IncidentCommands(LedgerBase):
    def report_incident(
        self, title: str, description: str, severity: str, tenant_ids: list[UUID],
        actor: str, aware_at: datetime | None = None,
    ) -> Outcome:
        tenant_ids = values.ids("tenant_ids", tenant_ids)
        for tenant_id in tenant_ids:
            self.tenant(tenant_id)
        incident = Incident.report(
            title, description, severity, tenant_ids, actor, self.now(), aware_at
        )
        return Outcome(incident, self._save(incident))

    def notify_customer_of_incident(
        self, incident_id: UUID, tenant_id: UUID, actor: str, message_id: str | None = None
    ) -> Outcome:
        return self._change(
            incident_id, Incident,
            lambda i: i.notify_customer(tenant_id, actor, self.now(), message_id),
        )

    def notify_authority_of_incident(
        self, incident_id: UUID, reference: str, actor: str
    ) -> Outcome:
        return self._change(
            incident_id, Incident, lambda i: i.notify_authority(reference, actor, self.now())
        )

    def mark_incident_overdue(self, incident_id: UUID) -> Outcome | None:
        return self._change_if_due(
            incident_id, Incident, lambda i: i.mark_overdue_if_due(self.now())
        )

    def record_disclosure(
        self, tenant_id: UUID, recipient: str, legal_basis: str, reference: str, actor: str,
        subject_ids: list[UUID] | None = None,
    ) -> Outcome:
        self.tenant(tenant_id)
        for subject_id in values.ids("subject_ids", subject_ids):
            try:
                belongs = self.subject(subject_id).tenant_id == tenant_id
            except NotFound:
                belongs = False
            if not belongs:
                raise InvalidInput(
                    "subject_ids", f"{subject_id} is not a subject of this tenant"
                )
        disclosure = Disclosure.record(
            tenant_id, recipient, legal_basis, reference, actor, self.now(), subject_ids
        )
        return Outcome(disclosure, self._save(disclosure))

    def record_vendor_read(
        self, subject_id: UUID, actor: str, role: str, what: str,
        request_id: UUID | None = None, reason: str | None = None,
    ) -> Outcome | None:
        """Recorded before the data is handed over; None when there is nothing personal left
        to read (the subject was erased, or its tenant purged: its key is gone)."""
        registered = self.recorder.select_events(subject_id, limit=1)
        if not registered or registered[0].topic not in SUBJECT_CREATED:
            raise NotFound(f"no subject with id {subject_id}")
        if self.keys.get(subject_id) is None:
            return None
        tenant_id = self.mapper.to_domain_event(registered[0]).tenant_id
        request_subject_id = None
        if request_id is not None:
            try:
                request_subject_id = self.data_request(request_id).subject_id
            except NotFound:
                raise InvalidInput("request_id", f"no subject's request with id {request_id}") from None
        read = VendorRead.record(
            subject_id, tenant_id, actor, role, what, self.now(), request_id, reason,
            request_subject_id, self._tenant_standing(tenant_id),
        )
        return Outcome(read, self._save(read))
