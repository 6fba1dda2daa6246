"""History as of a moment, computed from the subject's own events rather than the current tables.

The events keep their sealed fields; once the subject's key is destroyed they replay as
"[erased]", so a past answer given after an erasure never shows the old plaintext.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain import consent
from domain.errors import InvalidInput


def subject_profile_as_of(ledger: Any, subject_id: UUID, moment: datetime) -> dict[str, Any] | None:
    """The same shape as `ReadModels.subject_profile`, as it stood at `moment`; None when the
    subject did not exist yet. Raises NotFound for an id that never was a subject."""
    if moment.tzinfo is None:
        raise InvalidInput("as_of", "as_of needs a time zone")
    subject = ledger.subject_as_of(subject_id, moment)
    if subject is None:
        return None
    tenant_id = None if subject.tenant_id is None else str(subject.tenant_id)
    if subject.erased:
        return {"id": str(subject.id), "tenant_id": tenant_id, "erased": True}
    return {
        "id": str(subject.id),
        "tenant_id": tenant_id,
        "name": subject.name,
        "email": subject.email,
        "phone": subject.phone,
        "erased": False,
        "kind": subject.kind,
        "consents": {
            purpose: consent.summary(decisions)
            for purpose, decisions in sorted(subject.consents.items())
        },
        "created_at": subject.created_on,
        "updated_at": subject.modified_on,
    }
