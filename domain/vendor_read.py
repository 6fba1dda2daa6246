"""A read of a subject's personal data by the vendor's own people, recorded before it happens.

Support staff read a tenant's data only under a grant the tenant approved; the privacy
officer reads subjects' data to answer their requests. Either way the tenant must be able to
see who read what and why, as Google's Access Transparency shows a customer every access by
Google's people. So every such read is an event, in that tenant's access log, naming the
actor, what was read and why: the subject's request it serves, or a reason in the reader's
own words (sealed with the subject's key: it may well be about them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import values
from domain.errors import InvalidInput
from domain.personal import CarriesPersonalData
from domain.tenant import TenantStanding
from domain.vocabulary import WhatWasRead


class VendorRead(Aggregate):
    class Recorded(Aggregate.Created, CarriesPersonalData):
        personal_fields = ("reason",)
        data_owner = "subject_id"
        subject_id: UUID
        tenant_id: UUID | None
        actor: str
        role: str
        what: str
        request_id: UUID | None
        reason: str | None

    def __init__(
        self, subject_id: UUID, tenant_id: UUID | None, actor: str, role: str, what: str,
        request_id: UUID | None, **_: Any,
    ) -> None:
        self.subject_id = subject_id
        self.tenant_id = tenant_id
        self.actor = actor
        self.role = role
        self.what = what
        self.request_id = request_id

    @classmethod
    def record(
        cls, subject_id: UUID, tenant_id: UUID | None, actor: str, role: str, what: str,
        now: datetime, request_id: UUID | None = None, reason: str | None = None,
        request_subject_id: UUID | None = None, tenant: TenantStanding | None = None,
    ) -> "VendorRead":
        """`request_subject_id`: whose request `request_id` is (the caller looked it up); a
        read is justified only by a request of the subject whose data is read. A terminated
        tenant's data has become inaccessible: nothing of its subjects is exported."""
        kind = values.choice("what", WhatWasRead, what)
        if kind.takes_data_away and tenant is not None:
            tenant.ensure_data_may_leave()
        reason = values.text("reason", reason, required=False, max_length=500)
        if request_id is None and reason is None:
            raise InvalidInput(
                "reason",
                "say why you read this person's data: ?request_id= of their request, or ?reason=",
            )
        if request_id is not None and request_subject_id != subject_id:
            raise InvalidInput("request_id", f"{request_id} is not a request of this subject")
        return cls._create(
            cls.Recorded,
            id=uuid4(),
            subject_id=subject_id,
            tenant_id=tenant_id,
            actor=actor,
            role=role,
            what=kind.value,
            request_id=request_id,
            reason=reason,
            timestamp=now,
        )
