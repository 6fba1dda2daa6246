"""A disclosure of a tenant's data to a third party: only on the customer's request, by law or by court order."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import values
from domain.vocabulary import LegalBasis


class Disclosure(Aggregate):
    class Recorded(Aggregate.Created):
        tenant_id: UUID
        recipient: str
        legal_basis: str
        reference: str
        subject_ids: list[UUID]
        actor: str

    def __init__(
        self, tenant_id: UUID, recipient: str, legal_basis: str, reference: str,
        subject_ids: list[UUID], actor: str, **_: Any,
    ) -> None:
        self.tenant_id = tenant_id
        self.recipient = recipient
        self.legal_basis = legal_basis
        self.reference = reference
        self.subject_ids = list(subject_ids)

    @classmethod
    def record(
        cls, tenant_id: UUID, recipient: str, legal_basis: str, reference: str,
        actor: str, now: datetime, subject_ids: list[UUID] | None = None,
    ) -> "Disclosure":
        return cls._create(
            cls.Recorded,
            id=uuid4(),
            tenant_id=tenant_id,
            recipient=values.text("recipient", recipient, max_length=300),
            legal_basis=values.choice("legal_basis", LegalBasis, legal_basis).value,
            reference=values.text("reference", reference, max_length=300),
            subject_ids=values.ids("subject_ids", subject_ids),
            actor=actor,
            timestamp=now,
        )
