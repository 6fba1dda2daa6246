"""The Ledger's commands on propagation: the vendor's systems confirm (or report that they could
not apply) a subject's erasure or rectification request and a consent change; an officer
waives what will not be confirmed. The rules are domain/propagation.py's.

What may be recorded once the subject's key is gone (erased, or the tenant purged): a
request's confirmation carries nothing personal and is the very proof that the erasure reached
the system, so it is recorded whenever it comes; a failure's reason is personal and can no
longer be sealed, so it is refused (SubjectErased, 409); a waiver's reason is required but not
kept, as a rejection's. A consent change's confirmation is an event of the subject itself,
which records nothing after its erasure (domain/ledger/erasure.py relies on that fence).
"""

from __future__ import annotations

from uuid import UUID

from domain.data_request import DataRequest
from domain.errors import SubjectErased
from domain.ledger.base import LedgerBase, Outcome
from domain.subject import Subject


class PropagationCommands(LedgerBase):
    def confirm_request_propagation(
        self, request_id: UUID, system_id: UUID, actor: str
    ) -> Outcome | None:
        """None when the system had confirmed already: a second confirmation records nothing."""
        return self._change_if_due(
            request_id, DataRequest,
            lambda r: r.confirm_propagation(system_id, actor, self.now()),
        )

    def report_propagation_failure(
        self, request_id: UUID, system_id: UUID, reason: str, actor: str
    ) -> Outcome:
        def report(request: DataRequest) -> None:
            if self.keys.get(request.subject_id) is None:
                raise SubjectErased()
            request.report_propagation_failure(system_id, reason, actor, self.now())

        return self._change(request_id, DataRequest, report)

    def waive_propagation(self, request_id: UUID, reason: str, actor: str) -> Outcome:
        """An officer closes the propagation of an open request without the confirmations
        still missing, for the reason given; the request may then be fulfilled."""

        def waive(request: DataRequest) -> None:
            keep_reason = self.keys.get(request.subject_id) is not None
            request.waive_propagation(reason, actor, self.now(), keep_reason=keep_reason)

        return self._change(request_id, DataRequest, waive)

    def confirm_consent_propagation(
        self, subject_id: UUID, system_id: UUID, propagation_id: str, actor: str
    ) -> Outcome | None:
        """None when this propagation was confirmed already."""
        self._ensure_key(subject_id)
        return self._change_if_due(
            subject_id, Subject,
            lambda s: s.confirm_propagation(system_id, propagation_id, actor, self.now()),
        )
