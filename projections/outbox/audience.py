"""Who hears a notice: the webhook subscriptions that chose it (domain.notifications.
`subscriber_hears`), the registered systems it concerns (domain.propagation), and the people
a rule says must be mailed (domain.notifications.MAILED). Taken once per round of fanning out,
so a round of a thousand notices reads the subscriptions and systems once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.notifications import MAILED, PROPAGATION_NOTICES, MailTo, NoticeType, subscriber_hears
from domain.vocabulary import Role
from projections.outbox.deliveries import Addressee, Notice
from projections.outbox.subscriptions import Subscription

ENGLISH = "en"


class Audience:
    def __init__(
        self, subscriptions: Sequence[Subscription], systems: Sequence[Any], contacts: Any,
        *, officer_emails: Sequence[str] = (), staff_emails: Mapping[str, str] | None = None,
        mail: bool = False,
    ) -> None:
        """`systems`: the registered systems (projections/outbox/systems.py); `contacts`: the
        ContactStore; `mail`: whether e-mail can be sent at all (LEDGER_SMTP_URL)."""
        self.webhooks = [s for s in subscriptions if s.active and s.system_id is None]
        self.system_hooks = {s.system_id: s for s in subscriptions if s.active and s.system_id}
        self.systems = [s for s in systems if getattr(s, "status", "active") == "active"]
        self.contacts = contacts
        self.officer_emails = list(officer_emails)
        self.staff_emails = dict(staff_emails or {})
        self.mail = mail

    def of(self, notice: Notice) -> list[Addressee]:
        found = [
            Addressee("webhook", subscription_id=s.id) for s in self.webhooks
            if subscriber_hears(s.tenant_id, s.types, s.since_position, notice.type,
                                notice.tenant_id, notice.position)
        ]
        if notice.type in PROPAGATION_NOTICES:
            found += self._systems(notice)
        if self.mail and notice.type in MAILED:
            found += self._mailed(notice)
        return found

    def _systems(self, notice: Notice) -> list[Addressee]:
        if notice.type == NoticeType.CONSENT_CHANGED:
            purpose = notice.data.get("purpose", "")
            concerned = [s.system.id for s in self.systems if s.system.concerns_consent(purpose)]
        else:  # the request's propagation named its systems when it started
            concerned = [s.system.id for s in self.systems
                         if str(s.system.id) in notice.data.get("systems", [])]
        hooks = [self.system_hooks[i] for i in concerned if i in self.system_hooks]
        if notice.type == NoticeType.CONSENT_CHANGED:
            # A system hears of consent changes recorded after it was registered; a request's
            # systems were chosen when its propagation started, and all hear of it.
            hooks = [hook for hook in hooks if hook.since_position < notice.position]
        return [Addressee("webhook", subscription_id=hook.id) for hook in hooks]

    def _mailed(self, notice: Notice) -> list[Addressee]:
        to = MAILED[NoticeType(notice.type)]
        if to is MailTo.APPROVERS:
            found = self.contacts.contacts(notice.tenant_id) if notice.tenant_id else None
            if found is None:
                return []
            return [Addressee("email", recipient=address, language=found.language)
                    for address in found.approver_emails]
        if to is MailTo.REQUESTER:
            address = self._staff_address(notice.requester)
            return [Addressee("email", recipient=address, language=ENGLISH)] if address else []
        return [Addressee("email", recipient=address, language=ENGLISH)
                for address in self.officer_emails]

    def _staff_address(self, actor: str | None) -> str | None:
        if not actor:
            return None
        remembered = self.contacts.address(f"{Role.STAFF.value}::{actor}")
        return remembered or self.staff_emails.get(actor)
