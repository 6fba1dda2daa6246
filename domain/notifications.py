"""Who must hear what, and how hard the ledger tries to tell them.

Every notice the ledger sends has a type from `NoticeType`. A customer may subscribe its tenant
to `CUSTOMER_NOTICES`; an officer subscribes the vendor to `VENDOR_NOTICES`; the vendor's
registered systems receive `PROPAGATION_NOTICES` (consent changes, erasures, rectifications) and
confirm each. A delivery is tried on `RETRY_SCHEDULE` (about three days, as Standard Webhooks
receivers expect), each wait stretched by up to a tenth at random so that many deliveries failed
together do not come back together; a receiver's `Retry-After` is honoured within the same
bounds. What a receiver's answer means is `answer_means`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from domain.vocabulary import Role


class NoticeType(StrEnum):
    # A tenant's staff access, as its customer sees it
    ACCESS_REQUESTED = "access.requested"
    ACCESS_APPROVED = "access.approved"
    ACCESS_DENIED = "access.denied"
    ACCESS_EXPIRED = "access.expired"
    ACCESS_REVOKED = "access.revoked"
    ACCESS_USED = "access.used"
    ACCESS_REFUSED = "access.refused"
    INCIDENT_REPORTED = "incident.reported"
    INCIDENT_CUSTOMER_NOTIFIED = "incident.customer_notified"
    DISCLOSURE_RECORDED = "disclosure.recorded"
    # The vendor's clocks and erasures, as its officers see them
    DATA_REQUEST_DUE_SOON = "data_request.due_soon"
    DATA_REQUEST_OVERDUE = "data_request.overdue"
    INCIDENT_AUTHORITY_DUE_SOON = "incident.authority_due_soon"
    INCIDENT_OVERDUE = "incident.overdue"
    ERASURE_FULFILLED = "erasure.fulfilled"
    PROPAGATION_CONFIRMED = "propagation.confirmed"
    PROPAGATION_FAILED = "propagation.failed"
    # What the vendor's systems holding personal data must apply, and confirm
    CONSENT_CHANGED = "consent.changed"
    ERASURE_REQUESTED = "erasure.requested"
    RECTIFICATION_REQUESTED = "rectification.requested"


CUSTOMER_NOTICES = (
    NoticeType.ACCESS_REQUESTED, NoticeType.ACCESS_APPROVED, NoticeType.ACCESS_DENIED,
    NoticeType.ACCESS_EXPIRED, NoticeType.ACCESS_REVOKED, NoticeType.ACCESS_USED,
    NoticeType.ACCESS_REFUSED, NoticeType.INCIDENT_REPORTED,
    NoticeType.INCIDENT_CUSTOMER_NOTIFIED, NoticeType.DISCLOSURE_RECORDED,
)
VENDOR_NOTICES = (
    NoticeType.DATA_REQUEST_DUE_SOON, NoticeType.DATA_REQUEST_OVERDUE,
    NoticeType.INCIDENT_AUTHORITY_DUE_SOON, NoticeType.INCIDENT_OVERDUE,
    NoticeType.ERASURE_FULFILLED, NoticeType.PROPAGATION_CONFIRMED,
    NoticeType.PROPAGATION_FAILED,
)
PROPAGATION_NOTICES = (
    NoticeType.CONSENT_CHANGED, NoticeType.ERASURE_REQUESTED, NoticeType.RECTIFICATION_REQUESTED,
)



def subscribable_by(role: Role) -> tuple[NoticeType, ...]:
    """The notice types a role may subscribe a webhook to: a customer its tenant's, an officer
    the vendor's and every tenant's; registered systems are told what concerns them instead."""
    if role is Role.CUSTOMER:
        return CUSTOMER_NOTICES
    if role is Role.OFFICER:
        return (*VENDOR_NOTICES, *CUSTOMER_NOTICES)
    return ()


# Officers hear of a subject's request this long before it is due, and of the authority's
# 72 hours this long before they run out.
DATA_REQUEST_WARNING = timedelta(days=7)
AUTHORITY_WARNING = timedelta(hours=24)

# The waits between tries: 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h; about three days.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), *(timedelta(hours=10),) * 6,
)
JITTER = 0.1  # each wait stretched by up to this fraction, at random


class Answer(StrEnum):
    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # anything else, or no answer: try again on the schedule
    GONE = "gone"  # 410: the receiver says the endpoint is gone; the subscription is disabled


def answer_means(status: int | None) -> Answer:
    """A redirect is not followed (it could lead anywhere, inside the network too) and counts
    as a failure, as any status but 2xx and 410 does."""
    if status is not None and 200 <= status < 300:
        return Answer.DELIVERED
    if status == 410:
        return Answer.GONE
    return Answer.RETRY


def next_attempt(
    attempts_made: int, now: datetime, retry_after: float | None = None,
    schedule: Sequence[timedelta] = RETRY_SCHEDULE, rng: random.Random | None = None,
) -> datetime | None:
    """When to try again after `attempts_made` failed tries, or None: the schedule is spent
    and the delivery has expired. A `Retry-After` longer than the scheduled wait is honoured,
    up to the longest wait of the schedule."""
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    wait = schedule[attempts_made - 1]
    if retry_after is not None and retry_after > wait.total_seconds():
        wait = min(timedelta(seconds=retry_after), max(schedule))
    stretch = (rng or random).uniform(0, JITTER)
    return now + wait * (1 + stretch)


class MailTo(StrEnum):
    """Who a notice is mailed to, besides any webhook that subscribed to it."""

    APPROVERS = "approvers"  # the affected tenant's approvers (its contacts)
    REQUESTER = "requester"  # the staff member whose access request it is
    OFFICERS = "officers"  # the vendor's privacy officers


# What people must hear by e-mail, whether or not anyone subscribed a webhook.
MAILED: dict[NoticeType, MailTo] = {
    NoticeType.ACCESS_REQUESTED: MailTo.APPROVERS,
    NoticeType.ACCESS_APPROVED: MailTo.REQUESTER,
    NoticeType.ACCESS_DENIED: MailTo.REQUESTER,
    NoticeType.ACCESS_EXPIRED: MailTo.REQUESTER,
    NoticeType.INCIDENT_REPORTED: MailTo.APPROVERS,
    NoticeType.DATA_REQUEST_DUE_SOON: MailTo.OFFICERS,
    NoticeType.DATA_REQUEST_OVERDUE: MailTo.OFFICERS,
    NoticeType.INCIDENT_AUTHORITY_DUE_SOON: MailTo.OFFICERS,
    NoticeType.INCIDENT_OVERDUE: MailTo.OFFICERS,
}
# A notice that, once mailed, is a step a rule requires: the incident's customer notification.
RECORDED_WHEN_MAILED = (NoticeType.INCIDENT_REPORTED,)


def subscriber_hears(
    subscription_tenant: object | None, subscription_types: Sequence[str], since_position: int,
    notice_type: str, notice_tenant: object | None, notice_position: int,
) -> bool:
    """A tenant's subscription hears its own tenant's notices of the types it chose; the
    vendor's hears them for every tenant; neither hears what came before it was made."""
    if notice_position <= since_position or notice_type not in subscription_types:
        return False
    return subscription_tenant is None or subscription_tenant == notice_tenant
