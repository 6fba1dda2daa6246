"""The Ledger's commands on subjects' requests (GDPR art. 15-21): receive, verify, extend,
quote, then close; each close also frees the subject for a new request of that kind."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from uuid import UUID

from domain.data_request import DataRequest
from domain.ledger.base import LedgerBase, Outcome
from domain.ledger.retries import retried
from domain.propagation import DownstreamSystem
from domain.subject import Subject
from domain.vocabulary import DataRequestKind


class SubjectRequestCommands(LedgerBase):
    def receive_data_request(
        self, subject_id: UUID, kind: str, channel: str, actor: str, details: str | None = None,
        received_at: datetime | None = None,
    ) -> Outcome:
        def receive() -> Outcome:
            subject = self.subject(subject_id)
            if not subject.erased:
                self._ensure_key(subject_id)
            request = DataRequest.receive(
                subject_id, subject.tenant_id, kind, channel, details, actor, self.now(),
                received_at,
            )
            subject.open_request(request.kind, request.id, self.now())
            return Outcome(request, self._save(request, subject))

        return retried(receive, "the subject")

    def verify_identity(
        self, request_id: UUID, method: str, actor: str,
        systems: Iterable[DownstreamSystem] = (),
    ) -> Outcome:
        """`systems`: the vendor's registered systems; an erasure or rectification request
        starts its propagation to those it concerns (domain/propagation.py)."""
        systems = tuple(systems)
        return self._change(
            request_id, DataRequest,
            lambda r: r.verify_identity(method, actor, self.now(), systems),
        )

    def extend_data_request(
        self, request_id: UUID, months: int, reason: str, actor: str
    ) -> Outcome:
        return self._change(
            request_id, DataRequest, lambda r: r.extend(months, reason, actor, self.now())
        )

    def quote_data_request(
        self, request_id: UUID, amount_cents: int, currency: str, actor: str
    ) -> Outcome:
        return self._change(
            request_id, DataRequest,
            lambda r: r.quote_fee(amount_cents, currency, actor, self.now()),
        )

    def accept_quote(self, request_id: UUID, actor: str) -> Outcome:
        return self._change(request_id, DataRequest, lambda r: r.accept_quote(actor, self.now()))

    def decline_quote(self, request_id: UUID, actor: str) -> Outcome:
        def decline(request: DataRequest, subject: Subject) -> None:
            request.decline_quote(actor, self.now())
            if not subject.erased:
                subject.close_request(request.kind, request.id, self.now())

        return self._closing(request_id, decline)

    def reject_data_request(self, request_id: UUID, reason: str, actor: str) -> Outcome:
        """An erased subject's other open requests can still be closed; the reason is then
        required but not recorded, since nothing personal may be written about them."""

        def reject(request: DataRequest, subject: Subject) -> None:
            keep_reason = self.keys.get(request.subject_id) is not None
            request.reject(reason, actor, self.now(), keep_reason=keep_reason)
            subject.close_request(request.kind, request.id, self.now())

        return self._closing(request_id, reject)

    def fulfil_data_request(
        self, request_id: UUID, actor: str, delivery_sha256: str | None = None,
        delivery_format: str | None = None,
    ) -> Outcome:
        """Fulfilling an erasure request erases the subject, once every system concerned has
        confirmed the erasure (or an officer waived them)."""
        request = self.data_request(request_id)
        if request.kind == DataRequestKind.ERASURE:
            # The rules (propagation included) before the key is destroyed.
            request.fulfil(actor, self.now())
            subject = self.subject(request.subject_id)
            if not subject.erased:
                subject.erase(actor, self.now(), request_id)
                self.keys.shred(request.subject_id)
                self.recent_subjects.forget(request.subject_id)

        def fulfil(request: DataRequest, subject: Subject) -> None:
            request.fulfil(actor, self.now(), delivery_sha256, delivery_format)
            subject.close_request(request.kind, request.id, self.now())
            if request.kind == DataRequestKind.ERASURE and not subject.erased:
                subject.erase(actor, self.now(), request_id)

        return self._closing(request_id, fulfil)

    def _closing(
        self, request_id: UUID, close: Callable[[DataRequest, Subject], None]
    ) -> Outcome:
        """Get → command → save for a request and its subject together, in one transaction."""

        def attempt() -> Outcome:
            request = self.data_request(request_id)
            subject = self.subject(request.subject_id)
            close(request, subject)
            return Outcome(request, self._save(request, subject))

        return retried(attempt, "the subject's request")

    def mark_data_request_overdue(self, request_id: UUID) -> Outcome | None:
        return self._change_if_due(
            request_id, DataRequest, lambda r: r.mark_overdue_if_due(self.now())
        )
