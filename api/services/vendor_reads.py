"""Why the vendor's officer reads a person's data: `?request_id=` of the person's own request, or a
`?reason=`. The read is recorded (domain/vendor_read.py) before the data is handed over, and
shows in the tenant's access log; customers and auditors (who see personal fields masked)
read as before, and their reads are not the vendor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from api.http.auth import Caller, Role
from api.http.problems import field_problem
from domain.errors import InvalidInput, ReadOnlyLedger
from domain.ledger import Ledger
from domain.vocabulary import WhatWasRead


@dataclass(frozen=True)
class Why:
    request_id: UUID | None
    reason: str | None


def why(
    request_id: Annotated[
        UUID | None,
        Query(description="officers: the subject's request this read answers (logged)"),
    ] = None,
    reason: Annotated[
        str | None,
        Query(max_length=500, description="officers: why you read this, when it answers no "
              "request of theirs (logged in the tenant's access log)"),
    ] = None,
) -> Why:
    return Why(request_id, reason)


WhyDep = Annotated[Why, Depends(why)]


def record_read(
    ledger: Ledger, caller: Caller, subject_id: UUID, what: WhatWasRead, why: Why
) -> int | None:
    """The position of the recorded read, or None when nothing was recorded: the caller is
    not the vendor's officer, or nothing personal is left to read (the subject was erased)."""
    if caller.role is not Role.OFFICER:
        return None
    if ledger.read_only:  # refused before the store is asked anything: the answer is the same
        raise ReadOnlyLedger("a read that is recorded cannot be served by a read-only process")
    try:
        outcome = ledger.record_vendor_read(
            subject_id, caller.actor, caller.role.value, what.value, why.request_id, why.reason
        )
    except InvalidInput as error:
        if error.field not in ("reason", "request_id"):
            raise
        raise field_problem(error.field, error.detail, "query") from None
    return None if outcome is None else outcome.position
