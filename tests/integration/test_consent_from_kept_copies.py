"""Consent decisions start from the copy of the subject this process saved a moment ago
(domain/ledger/recent_subjects.py). These tests prove that a copy made stale by another process never
produces a wrong event: the stale save loses the version check and is decided again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from domain.errors import DomainError
from tests.conftest import make_settings


@pytest.fixture
def two_processes(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> Iterator[tuple[Stores, Stores]]:
    settings = make_settings(durable_database_url, tmp_path / "var")
    first, second = open_stores(settings, clock=clock), open_stores(settings, clock=clock)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_a_decision_on_a_copy_made_stale_by_another_process_follows_that_process_change(
    two_processes: tuple[Stores, Stores],
) -> None:
    here, there = (stores.ledger for stores in two_processes)
    subject = here.register_subject("Jet", "jet@example.org", "app").aggregate.id
    here.give_consent(subject, "info_mail", "web_form", "v1", "app")  # kept here
    there.withdraw_consent(subject, "info_mail", "unsubscribe_link", "app")  # version 3, there

    decided = here.give_consent(subject, "info_mail", "web_form", "v2", "app")

    events = list(there.events.get(subject))
    assert [e.originator_version for e in events] == [1, 2, 3, 4]
    assert decided.aggregate.version == 4
    assert [type(e).__name__ for e in events[1:]] == [
        "ConsentGiven", "ConsentWithdrawn", "ConsentGiven"
    ]
    assert there.subject(subject).consents["info_mail"]["*"]["notice_version"] == "v2"


def test_a_subject_erased_by_another_process_gets_no_consent_from_a_kept_copy(
    two_processes: tuple[Stores, Stores],
) -> None:
    here, there = (stores.ledger for stores in two_processes)
    subject = here.register_subject("Jet", "jet@example.org", "app").aggregate.id
    here.give_consent(subject, "info_mail", "web_form", "v1", "app")  # kept here
    there.erase_subject(subject, "olga")

    with pytest.raises(DomainError):
        here.give_consent(subject, "profiling", "web_form", "v1", "app")

    assert type(list(there.events.get(subject))[-1]).__name__ == "Erased"


def test_the_answer_a_caller_holds_does_not_move_when_the_next_decision_is_made(
    two_processes: tuple[Stores, Stores],
) -> None:
    here, _ = (stores.ledger for stores in two_processes)
    subject = here.register_subject("Jet", "jet@example.org", "app").aggregate.id
    first = here.give_consent(subject, "info_mail", "web_form", "v1", "app")
    here.withdraw_consent(subject, "info_mail", "unsubscribe_link", "app")

    assert first.aggregate.version == 2
    assert first.aggregate.consents["info_mail"]["*"]["status"] == "given"


def test_a_rectification_in_this_process_is_seen_by_the_next_decision(
    two_processes: tuple[Stores, Stores],
) -> None:
    here, there = (stores.ledger for stores in two_processes)
    subject = here.register_subject("Jet", "jet@example.org", "app").aggregate.id
    here.give_consent(subject, "info_mail", "web_form", "v1", "app")
    here.rectify_subject(subject, "olga", email="jet@example.com")

    decided = here.give_consent(subject, "profiling", "web_form", "v1", "app")

    assert decided.aggregate.email == "jet@example.com"
    assert decided.aggregate.version == 4
    assert there.subject(subject).email == "jet@example.com"
