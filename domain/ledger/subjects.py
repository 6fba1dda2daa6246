"""The Ledger's subject commands: registration, rectification, consent, erasure, and the
subject's own history."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.ledger.base import LedgerBase, Outcome
from domain.ledger.erasure import subject_for_erasure
from domain.ledger.retries import ReadAgainAtOnce, retried
from domain.subject import Subject


class SubjectCommands(LedgerBase):
    def register_subject(
        self, name: str, email: str, actor: str, tenant_id: UUID | None = None,
        phone: str | None = None,
    ) -> Outcome:
        if tenant_id is not None:
            self.tenant(tenant_id).ensure_active()
        subject = Subject.register(tenant_id, name, email, phone, actor, self.now())
        self.keys.create(subject.id, tenant_id=tenant_id)
        return Outcome(subject, self._save(subject))

    def rectify_subject(
        self, subject_id: UUID, actor: str, name: str | None = None,
        email: str | None = None, phone: str | None = None,
    ) -> Outcome:
        self._ensure_key(subject_id)
        return self._change(
            subject_id, Subject,
            lambda s: s.rectify(actor, self.now(), name=name, email=email, phone=phone),
        )

    def ensure_subject_data_may_leave(self, subject_id: UUID) -> None:
        """Refuses (409) when the subject's tenant is closed: its data is not exported."""
        standing = self._tenant_standing(self.subject(subject_id).tenant_id)
        if standing is not None:
            standing.ensure_data_may_leave()

    # Consent
    def give_consent(
        self, subject_id: UUID, purpose: str, method: str, notice_version: str, actor: str,
        channel: str | None = None, ip_address: str | None = None,
    ) -> Outcome:
        return self._decide_consent(
            subject_id,
            lambda s: s.give_consent(
                purpose, method, notice_version, actor, self.now(), channel, ip_address,
                tenant=self._tenant_standing(s.tenant_id),
            ),
        )

    def withdraw_consent(
        self, subject_id: UUID, purpose: str, method: str, actor: str,
        channel: str | None = None, notice_version: str | None = None,
        ip_address: str | None = None,
    ) -> Outcome:
        return self._decide_consent(
            subject_id,
            lambda s: s.withdraw_consent(
                purpose, method, actor, self.now(), channel, notice_version, ip_address,
                tenant=self._tenant_standing(s.tenant_id),
            ),
        )

    def withdraw_consent_if_given(
        self, subject_id: UUID, purpose: str, method: str, actor: str,
        channel: str | None = None,
    ) -> Outcome | None:
        """None when there was nothing to withdraw (never given, or withdrawn already)."""
        self._ensure_key(subject_id)
        return self._change_if_due(
            subject_id, Subject,
            lambda s: s.withdraw_consent_if_given(purpose, method, actor, self.now(), channel),
        )

    def consent_answer(
        self, subject_id: UUID, purpose: str, channel: str | None = None
    ) -> dict[str, Any]:
        """"May I?" from the subject's own events: for when the read side has not yet seen
        the subject's last event (a decision just answered on another process)."""
        subject = self.subject(subject_id)
        return subject.consent_answer(purpose, channel, self._tenant_standing(subject.tenant_id))

    def _decide_consent(self, subject_id: UUID, command: Callable[[Subject], Any]) -> Outcome:
        """Get → command → save for the most frequent write: the subject comes from the copy
        this process saved a moment ago when there is one (domain/ledger/recent_subjects.py
        says why that is safe), and the copy is kept again after the save."""
        self._ensure_key(subject_id)

        def attempt() -> Outcome:
            kept = self.recent_subjects.take(subject_id)
            subject = kept if kept is not None else self._load(subject_id, Subject)
            command(subject)
            try:
                position = self._save(subject)
            except IntegrityError:
                if kept is not None:
                    raise ReadAgainAtOnce() from None  # the copy was behind: read it fresh
                raise
            self.recent_subjects.put(subject)
            return Outcome(subject, position)

        return retried(attempt, "the subject")

    # Erasure
    def erase_subject(
        self, subject_id: UUID, actor: str, request_id: UUID | None = None
    ) -> Outcome:
        """The key goes first: from that moment nothing of the person can be read, even if
        the fence event has yet to be written (a retry writes it). It costs the same however
        long the history: only the first and the last events are read
        (domain/ledger/erasure.py)."""

        def erase() -> Outcome:
            subject = subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id)
            subject.erase(actor, self.now(), request_id)
            return Outcome(subject, self._save(subject))

        # The rules, before anything is lost.
        subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id).erase(
            actor, self.now(), request_id
        )
        self.keys.shred(subject_id)
        self.recent_subjects.forget(subject_id)  # no decrypted copy outlives the key
        return retried(erase, "the subject")

    def record_erasure_final(
        self, subject_id: UUID, at: datetime, last_key_epoch: int
    ) -> Outcome | None:
        """The epoch close destroyed the last key-encryption key of the subject's data key;
        None when that was recorded already. Reads no history (domain/ledger/erasure.py)."""

        def record() -> Outcome | None:
            subject = subject_for_erasure(self.recorder, self.mapper, self.keys, subject_id)
            if not subject.record_erasure_final(at, last_key_epoch):
                return None
            return Outcome(subject, self._save(subject))

        return retried(record, "the subject")

    # History
    def subject_events(self, subject_id: UUID, until: datetime | None = None) -> Iterator[Any]:
        self.subject(subject_id)
        for event in self.events.get(subject_id):
            if until is not None and event.timestamp > until:
                return
            yield event

    def subject_as_of(self, subject_id: UUID, moment: datetime) -> Subject | None:
        """The subject as it stood at `moment`, from its own events (erased fields stay erased)."""
        subject: Subject | None = None
        for event in self.subject_events(subject_id, until=moment):
            subject = event.mutate(subject)
        return subject
