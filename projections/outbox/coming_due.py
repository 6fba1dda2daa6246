"""Deadlines coming up, which no event announces: a subject's request due within a week, the
authority's 72 hours with less than a day left. Found on the read models with the edges of
domain/deadlines.py and the warnings of domain/notifications.py, and turned into notices whose
ids name the deadline, so each is told once however often this runs (and again only when the
deadline moves: an extension)."""

from __future__ import annotations

from datetime import datetime

from domain.deadlines import overdue_before
from domain.notifications import AUTHORITY_WARNING, DATA_REQUEST_WARNING, NoticeType
from domain.vocabulary import DATA_REQUEST_CLOSED
from projections.outbox.deliveries import DeliveryStore, Notice
from projections.read_models.tables import micros, moment
from projections.storage.database import Database


def notice_coming_deadlines(db: Database, deliveries: DeliveryStore, now: datetime, head: int) -> int:
    """Adds the notices of deadlines now within their warning; returns how many were new."""
    met = micros(overdue_before(now))  # a deadline at or after this is not missed yet
    closed = ", ".join(["%s"] * len(DATA_REQUEST_CLOSED))
    requests = db.fetchall(
        f"SELECT id, due_at, kind FROM data_requests WHERE status NOT IN ({closed}) "
        "AND overdue = 0 AND due_at >= %s AND due_at < %s",
        (*DATA_REQUEST_CLOSED, met, micros(now + DATA_REQUEST_WARNING)),
    )
    incidents = db.fetchall(
        "SELECT id, authority_due_at FROM incidents WHERE authority_notified_at IS NULL "
        "AND overdue = 0 AND authority_due_at >= %s AND authority_due_at < %s",
        (met, micros(now + AUTHORITY_WARNING)),
    )
    added = 0
    for request_id, due_at, kind in requests:
        added += deliveries.add_notice(_coming(
            NoticeType.DATA_REQUEST_DUE_SOON, request_id, due_at, now, head,
            {"due_at": moment(due_at).isoformat(), "kind": kind, "request_id": request_id},
        ))
    for incident_id, due_at in incidents:
        added += deliveries.add_notice(_coming(
            NoticeType.INCIDENT_AUTHORITY_DUE_SOON, incident_id, due_at, now, head,
            {"authority_due_at": moment(due_at).isoformat()},
        ))
    return added


def _coming(
    kind: NoticeType, about: str, due_at: int, now: datetime, head: int, data: dict
) -> Notice:
    return Notice(
        id=f"{kind.value}:{about}:{due_at}", position=head, type=kind.value, tenant_id=None,
        subject_id=None, requester=None, about_id=str(about), occurred_at=now, data=data,
    )
