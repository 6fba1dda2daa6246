"""A website visitor: a subject without name or e-mail, known by a random id its browser keeps in
a first-party cookie on the vendor's site, and the rules of its banner choices.

`Visitor` is a mixin of `Subject` (domain/subject.py): its events and commands are the
subject's, so a visitor is a subject like any other (its own data key, erasure by
crypto-shredding, consent per purpose and channel). The aggregate's metaclass redefines the
events declared here on Subject, so they are stored as `domain.subject:Subject.<Event>`
(always triggered as `Subject.<Event>`, through `cls`/`self`): stored topics, never renamed.

What one banner choice records, in one save (domain/ledger/visitors.py):
- `Subject.Arrived` the first time (the subject is made by its first choice);
- `Subject.NoticeShown` for the strictly necessary cookies, with every choice: they need no
  consent, so what is recorded is that the notice (of that version) was shown;
- a `ConsentGiven` or `ConsentWithdrawn` for analytics_cookies and for tracking_cookies,
  method `cookie_banner`; with Global Privacy Control, tracking_cookies and
  third_party_marketing are withdrawn with method `gpc`, whatever the choice said.
No IP address or user agent is recorded: the choice needs neither (data minimisation).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain import values
from domain.errors import InvalidInput, StateConflict
from domain.vocabulary import ConsentMethod, ConsentStatus, Purpose

# What the banner script makes: random bytes as base64url, long enough not to be guessed.
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{22,64}")
NECESSARY = "necessary"  # the category that is on without consent
VISITOR, PERSON = "visitor", "person"  # a subject's kind


def visitor_id(value: Any) -> str:
    if not isinstance(value, str) or not VISITOR_ID.fullmatch(value):
        raise InvalidInput(
            "visitor_id", "visitor_id must be 22 to 64 characters of A-Z a-z 0-9 _ -"
        )
    return value


def visitor_subject_id(site_id: UUID, visitor: str) -> UUID:
    """The subject id of a site's visitor: derived, never chosen by the caller, so nobody can
    aim a choice at an existing subject, and one visitor on one site is always one subject."""
    return uuid5(site_id, visitor_id(visitor))


def banner_actor(site_key: str) -> str:
    """Who recorded a choice: the banner of that site (no person of the vendor's did)."""
    return f"banner:{site_key}"


class Visitor:
    class Arrived(Aggregate.Created):
        """A visitor's first choice made it a subject: of this site's tenant (None: the
        vendor's own site). Nothing personal: no name, no e-mail, not even the cookie's id."""

        tenant_id: UUID | None
        site_id: UUID
        actor: str

    class NoticeShown(Aggregate.Event):
        """The notice for a category that needs no consent (strictly necessary cookies) was
        shown: recorded as such, never as a consent."""

        notice_version: str
        category: str
        method: str
        actor: str

        def apply(self, subject: Any) -> None:
            subject.notices_shown = {**subject.notices_shown, self.category: self.notice_version}

    class LinkedTo(Aggregate.Event):
        """This visitor turned out to be that registered subject (the person's own event is
        `VisitorLinked`, saved with this one)."""

        subject_id: UUID
        actor: str

        def apply(self, subject: Any) -> None:
            subject.linked_to = self.subject_id

    class VisitorLinked(Aggregate.Event):
        visitor: UUID
        actor: str

        def apply(self, subject: Any) -> None:
            subject.visitors = subject.visitors | {self.visitor}

    # State every subject has (set in Subject.__init__): kind, site_id, notices_shown,
    # linked_to, visitors.

    @classmethod
    def arrive(cls, site_id: UUID, visitor: str, tenant_id: UUID | None, actor: str,
               now: datetime) -> Any:
        return cls._create(  # type: ignore[attr-defined]
            cls.Arrived, id=visitor_subject_id(site_id, visitor), tenant_id=tenant_id,
            site_id=site_id, actor=actor, timestamp=now,
        )

    @property
    def is_visitor(self) -> bool:
        return self.kind == VISITOR  # type: ignore[attr-defined]

    def record_banner_choice(
        self, notice_version: str, analytics: bool, tracking: bool, gpc: bool, actor: str,
        now: datetime, tenant: Any = None,
    ) -> None:
        """The notice shown, then each decision; the last event is a consent decision (its
        version names the choice's receipt)."""
        s: Any = self
        s._ensure_consent_may_be_written(tenant)
        notice = values.text("notice_version", notice_version, max_length=100)
        s.trigger_event(
            s.NoticeShown, notice_version=notice, category=NECESSARY,
            method=ConsentMethod.COOKIE_BANNER.value, actor=actor, timestamp=now,
        )
        for purpose, status, method in banner_decisions(analytics, tracking, gpc):
            if status == ConsentStatus.GIVEN:
                s.give_consent(purpose, method, notice, actor, now, tenant=tenant)
            else:
                s.withdraw_consent(purpose, method, actor, now, notice_version=notice,
                                   tenant=tenant)

    def link_visitor(self, visitor: Any, actor: str, now: datetime) -> bool:
        """Links `visitor` (a visitor subject) to this registered person; False when it is
        linked to this person already (nothing recorded)."""
        person: Any = self
        if person.is_visitor:
            raise InvalidInput("subject_id", "a visitor cannot be linked to another visitor")
        if not visitor.is_visitor:
            raise InvalidInput("visitor_id", "that subject is not a visitor")
        person._ensure_not_erased()
        visitor._ensure_not_erased()
        if visitor.tenant_id != person.tenant_id:
            raise StateConflict(
                "the visitor and the subject belong to different tenants; a visitor is "
                "linked only to a subject of its own site's tenant"
            )
        if visitor.linked_to == person.id:
            return False
        if visitor.linked_to is not None:
            raise StateConflict("the visitor is already linked to another subject")
        visitor.trigger_event(visitor.LinkedTo, subject_id=person.id, actor=actor, timestamp=now)
        person.trigger_event(person.VisitorLinked, visitor=visitor.id, actor=actor, timestamp=now)
        return True


def banner_decisions(
    analytics: bool, tracking: bool, gpc: bool
) -> list[tuple[str, ConsentStatus, ConsentMethod]]:
    """The decisions one banner choice records: (purpose, status, method), in order. With
    Global Privacy Control the browser has already said no to tracking and to third-party
    marketing, whatever the click said: both are withdrawn with method `gpc`."""
    if not all(isinstance(flag, bool) for flag in (analytics, tracking, gpc)):
        raise InvalidInput("analytics", "analytics and tracking must be true or false")

    def chosen(purpose: Purpose, given: bool) -> tuple[str, ConsentStatus, ConsentMethod]:
        status = ConsentStatus.GIVEN if given else ConsentStatus.WITHDRAWN
        return purpose.value, status, ConsentMethod.COOKIE_BANNER

    decisions = [chosen(Purpose.ANALYTICS_COOKIES, analytics)]
    if not gpc:
        return decisions + [chosen(Purpose.TRACKING_COOKIES, tracking)]
    refused = ConsentStatus.WITHDRAWN, ConsentMethod.GPC
    return decisions + [
        (Purpose.TRACKING_COOKIES.value, *refused),
        (Purpose.THIRD_PARTY_MARKETING.value, *refused),
    ]
