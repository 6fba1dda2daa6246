"""The short-lived cache of subjects behind consent decisions (domain/ledger/recent_subjects.py)."""

from __future__ import annotations

from uuid import uuid4

from domain.ledger.recent_subjects import RecentSubjects
from domain.subject import Subject
from datetime import datetime, timezone

NOW = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def _subject(tenant=None) -> Subject:
    subject = Subject.register(tenant, "Ann", "ann@example.org", None, "app", NOW)
    subject.collect_events()
    return subject


def test_a_copy_is_handed_out_once_so_two_callers_never_share_it() -> None:
    recent = RecentSubjects()
    subject = _subject()
    recent.put(subject)

    assert recent.take(subject.id) is not None
    assert recent.take(subject.id) is None


def test_a_copy_older_than_its_time_to_live_is_not_trusted() -> None:
    now = [100.0]
    recent = RecentSubjects(ttl=5.0, monotonic=lambda: now[0])
    subject = _subject()
    recent.put(subject)
    now[0] += 5.0

    assert recent.take(subject.id) is None


def test_the_kept_twin_does_not_change_with_the_callers_object() -> None:
    recent = RecentSubjects()
    subject = _subject()
    recent.put(subject)
    subject.give_consent("info_mail", "web_form", "v1", "app", NOW)

    twin = recent.take(subject.id)
    assert twin is not None and twin is not subject
    assert twin.consents == {} and twin.version == 1
    assert twin.pending_events == []


def test_the_oldest_copy_goes_first_when_the_cache_is_full() -> None:
    recent = RecentSubjects(size=2)
    first, second, third = _subject(), _subject(), _subject()
    for subject in (first, second, third):
        recent.put(subject)

    assert recent.take(first.id) is None
    assert recent.take(third.id) is not None and len(recent) == 1


def test_a_tenants_purge_forgets_the_copies_of_its_subjects() -> None:
    recent = RecentSubjects()
    tenant = uuid4()
    ours, theirs = _subject(tenant), _subject(uuid4())
    recent.put(ours)
    recent.put(theirs)

    recent.forget_where(lambda s: s.tenant_id == tenant)

    assert recent.take(ours.id) is None and recent.take(theirs.id) is not None
