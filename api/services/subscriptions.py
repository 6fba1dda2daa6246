"""A caller's webhook subscriptions and what was delivered, for the HTTP API and the portal alike.

A customer manages its tenant's subscriptions, to its tenant's notices; an officer manages the
vendor's, which hear the vendor's notices and, for every tenant, the tenants' ones. Anybody
else's subscription is "not found", as is a registered system's (those are the systems' routes').
A customer sees the deliveries of its own subscriptions and the mail sent to its approvers; an
officer sees every delivery, the outbox being the vendor's. While its tenant is closed, a
customer neither reads nor changes its subscriptions (api/services/visibility.py's rule).

A target is checked when it is named (api/notifications/targets.py; the sender checks again at
every attempt). A subscription hears only what is recorded after it is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence
from uuid import UUID

from domain.errors import InvalidInput, StateConflict
from domain.ledger import Ledger
from domain.notifications import subscribable_by
from domain.tenant import TenantStanding
from domain.vocabulary import Role
from projections.outbox.contacts import ContactStore, TenantContacts
from projections.outbox.deliveries import Attempt, Delivery, DeliveryStore, NotRedeliverable
from projections.outbox.subscriptions import Subscription, SubscriptionStore

from api.http.auth import Caller
from api.notifications.targets import refusal
from api.services.visibility import not_found

MAX_SUBSCRIPTIONS = 20  # per tenant, and the vendor's: each one is a delivery per notice
_UNCHANGED = object()


def save_contacts(
    ledger: Ledger, contacts: ContactStore, tenant_id: UUID, approver_emails: list[str],
    language: str,
) -> TenantContacts:
    """A tenant's approvers and language; not while the tenant is closed (nobody is to approve
    anything then), nor for a tenant there is not (404)."""
    TenantStanding(ledger.tenant(tenant_id).status).ensure_open("its contacts cannot be changed")
    return contacts.set_contacts(tenant_id, approver_emails, language, ledger.now())


@dataclass(frozen=True)
class CallerWebhooks:
    """What `caller` (a customer or an officer) may do with subscriptions and deliveries."""

    caller: Caller
    ledger: Ledger
    subscriptions: SubscriptionStore
    deliveries: DeliveryStore
    contacts: ContactStore
    allowed_hosts: Sequence[str]

    @property
    def owner(self) -> UUID | None:
        """Whose subscriptions the caller manages: its tenant's, or (None) the vendor's."""
        return self.caller.tenant if self.caller.role is Role.CUSTOMER else None

    # Subscriptions
    def listed(self) -> list[Subscription]:
        self._tenant_open(changing=False)
        return self.subscriptions.of_tenant(self.owner)

    def create(
        self, url: str, types: list[str], description: str | None
    ) -> tuple[Subscription, str]:
        self._tenant_open(changing=True)
        self._check_types(types)
        self._check_url(url)
        if len(self.subscriptions.of_tenant(self.owner)) >= MAX_SUBSCRIPTIONS:
            raise StateConflict(
                f"there are {MAX_SUBSCRIPTIONS} subscriptions already, the most there may be; "
                "delete one or add types to one"
            )
        return self.subscriptions.create(
            url=url, types=types, actor=self.caller.actor, now=self.ledger.now(),
            head=int(self.ledger.recorder.max_notification_id() or 0),
            tenant_id=self.owner, description=description,
        )

    def get(self, sub_id: UUID) -> Subscription:
        self._tenant_open(changing=False)
        return self._own(sub_id)

    def change(
        self, sub_id: UUID, *, url: str | None = None, types: list[str] | None = None,
        description: object = _UNCHANGED, status: str | None = None,
    ) -> Subscription:
        """`description` is left as it is unless given (None clears it)."""
        self._tenant_open(changing=True)
        found = self._own(sub_id)
        if types is not None:
            self._check_types(types)
        if url is not None and url != found.url:
            self._check_url(url)
        if url is not None or types is not None or description is not _UNCHANGED:
            kept = found.description if description is _UNCHANGED else description
            self.subscriptions.update(
                sub_id, url=found.url if url is None else url,
                types=list(found.types) if types is None else types,
                description=kept if isinstance(kept, str) else None,
            )
        if status == "disabled" and found.active:
            self.subscriptions.disable(sub_id, f"disabled by {self.caller.actor}")
        elif status == "active" and not found.active:
            self.subscriptions.enable(sub_id)
        return self._own(sub_id)

    def delete(self, sub_id: UUID) -> None:
        self._tenant_open(changing=True)
        self._own(sub_id)
        self.subscriptions.delete(sub_id)

    def rotate_secret(self, sub_id: UUID) -> str:
        self._tenant_open(changing=True)
        self._own(sub_id)
        return self.subscriptions.rotate_secret(sub_id)

    # Deliveries
    def deliveries_of(self, sub_id: UUID, limit: int) -> list[Delivery]:
        self._tenant_open(changing=False)
        self._own(sub_id)
        return self.deliveries.for_subscription(sub_id, limit)

    def recent_deliveries(self, limit: int) -> list[Delivery]:
        """The newest deliveries of the caller's subscriptions, and of mail to its approvers."""
        found = [d for s in self.listed() for d in self.deliveries.for_subscription(s.id, limit)]
        if self.owner is not None:
            found += [d for d in self.deliveries.for_tenant(self.owner, limit)
                      if d.channel == "email" and d.recipient in self._approvers()]
        found.sort(key=lambda d: (d.created_at, d.id), reverse=True)
        return found[:limit]

    def delivery(self, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
        found = self._visible_delivery(delivery_id)
        return found, self.deliveries.attempts(delivery_id)

    def redeliver(self, delivery_id: str) -> Delivery:
        """Sends it again, under the same id; 409 while it is still being tried, or while its
        subscription is disabled or gone (nothing would be sent)."""
        self._tenant_open(changing=True)
        found = self._visible_delivery(delivery_id)
        if found.subscription_id is not None:
            subscription = self.subscriptions.get(found.subscription_id)
            if subscription is None:
                raise StateConflict("its subscription was deleted; nothing can be sent")
            if not subscription.active:
                raise StateConflict("its subscription is disabled; enable it first")
        try:
            return self.deliveries.redeliver(delivery_id, self.ledger.now())
        except NotRedeliverable as error:
            raise StateConflict(str(error)) from None

    # Who sees what
    def _own(self, sub_id: UUID) -> Subscription:
        found = self.subscriptions.get(sub_id)
        if found is None or found.system_id is not None or found.tenant_id != self.owner:
            raise not_found("webhook subscription", sub_id)
        return found

    def _visible_delivery(self, delivery_id: str) -> Delivery:
        self._tenant_open(changing=False)
        found = self.deliveries.get(delivery_id)
        if found is None or not self._sees(found):
            raise not_found("delivery", delivery_id)
        return found

    def _sees(self, item: Delivery) -> bool:
        if self.caller.role is Role.OFFICER:
            return True
        if item.subscription_id is not None:
            subscription = self.subscriptions.get(item.subscription_id)
            return subscription is not None and subscription.system_id is None and (
                subscription.tenant_id == self.owner
            )
        return (item.channel == "email" and item.tenant_id == self.owner
                and item.recipient in self._approvers())

    def _approvers(self) -> tuple[str, ...]:
        found = self.contacts.contacts(self.owner) if self.owner is not None else None
        return found.approver_emails if found is not None else ()

    # Checks
    def _tenant_open(self, *, changing: bool) -> None:
        if self.owner is None:
            return
        standing = TenantStanding(self.ledger.tenant(self.owner).status)
        if changing:
            standing.ensure_open("its webhook subscriptions cannot be changed")
        else:
            standing.ensure_customer_may_read("webhook subscriptions")

    def _check_types(self, types: list[str]) -> None:
        allowed = subscribable_by(self.caller.role)
        refused = [t for t in types if t not in allowed]
        if refused:
            raise InvalidInput(
                "types", f"{refused[0]!r} is not for a {self.caller.role.value} to subscribe "
                "to: a customer hears its tenant's notices only (GET /v1/notice-types)",
            )

    def _check_url(self, url: str) -> None:
        reason = refusal(url, list(self.allowed_hosts))
        if reason is not None:
            raise InvalidInput("url", reason)
