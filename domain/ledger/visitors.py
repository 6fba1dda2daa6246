"""The Ledger's visitor commands: a banner choice (which makes the visitor a subject the first
time), and linking a visitor to the registered person it turned out to be.

A choice is one save: the new visitor (when new), the notice shown and every decision commit
together or not at all (domain/visitor.py lists what it records).
"""

from __future__ import annotations

from uuid import UUID

from domain.banner_site import BannerSite
from domain.errors import NotFound
from domain.ledger.base import LedgerBase, Outcome
from domain.ledger.retries import retried
from domain.subject import Subject
from domain.visitor import banner_actor, visitor_subject_id


class VisitorCommands(LedgerBase):
    def record_banner_choice(
        self, site: BannerSite, visitor: str, analytics: bool, tracking: bool, gpc: bool,
    ) -> Outcome:
        """The receipt of the choice is `<subject id>:<version>` of the Outcome's subject: its
        last event is the choice's last consent decision."""
        subject_id = visitor_subject_id(site.id, visitor)
        actor = banner_actor(site.key)

        def attempt() -> Outcome:
            tenant = self._tenant_standing(site.tenant_id)
            try:
                subject = self._load(subject_id, Subject)
                self._ensure_key(subject_id)
            except NotFound:
                subject = Subject.arrive(site.id, visitor, site.tenant_id, actor, self.now())
            subject.record_banner_choice(
                site.notice_version, analytics, tracking, gpc, actor, self.now(), tenant=tenant,
            )
            # The key once the rules have passed (a refused choice makes none), before the
            # save: no event of the visitor is ever without its key. Refused for an erased one.
            self.keys.create(subject_id, tenant_id=site.tenant_id)
            return Outcome(subject, self._save(subject))

        return retried(attempt, "the visitor")

    def link_visitor(
        self, subject_id: UUID, site_id: UUID, visitor: str, actor: str
    ) -> Outcome | None:
        """Records on both, in one save, that the site's visitor is this registered person;
        None when it was linked to them already (nothing recorded)."""
        visitor_id = visitor_subject_id(site_id, visitor)

        def attempt() -> Outcome | None:
            person = self._load(subject_id, Subject)
            try:
                found = self._load(visitor_id, Subject)
            except NotFound:
                raise NotFound(f"no visitor {visitor} on the site {site_id}") from None
            if not person.link_visitor(found, actor, self.now()):
                return None
            return Outcome(person, self._save(found, person))

        self._ensure_key(subject_id)
        return retried(attempt, "the subject")
