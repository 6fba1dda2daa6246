"""Reading the global event log by topic, for questions no single aggregate can answer.

Notifications carry the originator id and topic without decoding, so callers that only
need ids never pay for decryption; `events_of` decodes when the event's fields are needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.ledger import Ledger

PAGE = 500


def topics_of(*event_classes: type) -> list[str]:
    return [get_topic(cls) for cls in event_classes]


def notifications_of(ledger: Ledger, *event_classes: type) -> Iterator[Notification]:
    """Every stored event of these classes, in the global order, paged."""
    topics = topics_of(*event_classes)
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, PAGE, topics=topics)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


def originators_of(ledger: Ledger, *event_classes: type) -> set[UUID]:
    return {n.originator_id for n in notifications_of(ledger, *event_classes)}


def events_of(ledger: Ledger, *event_classes: type) -> Iterator[Any]:
    for notification in notifications_of(ledger, *event_classes):
        yield ledger.mapper.to_domain_event(notification)
