"""Erasure costs the same however long the history (DESIGN.md §4): `Ledger.erase_subject` reads
the subject's first and last events, never replays the rest, and keeps every rule of erasure."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.ledger import Ledger
from domain.errors import NotFound, SubjectErased
from domain.subject import Subject

MEMORY = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def _subject_with_history(ledger: Ledger, consents: int) -> object:
    subject = ledger.register_subject("Jan", "jan@example.org", "crm").aggregate.id
    for n in range(consents):
        ledger.give_consent(subject, "info_mail", "web_form", f"v{n}", "crm")
    return subject


def test_erasing_a_long_history_decodes_no_more_events_than_a_short_one() -> None:
    ledger = Ledger(env=MEMORY)
    short, long = _subject_with_history(ledger, 2), _subject_with_history(ledger, 300)
    decoded: list[object] = []
    decode = ledger.mapper.to_domain_event
    ledger.mapper.to_domain_event = lambda stored: decoded.append(stored) or decode(stored)  # type: ignore[method-assign]

    ledger.erase_subject(short, "officer")
    for_short = len(decoded)
    decoded.clear()
    outcome = ledger.erase_subject(long, "officer")

    assert len(decoded) == for_short <= 2
    ledger.mapper.to_domain_event = decode  # type: ignore[method-assign]
    events = list(ledger.events.get(long))
    assert isinstance(events[-1], Subject.Erased) and events[-1].originator_version == 302
    assert outcome.position == ledger.recorder.max_notification_id()
    assert ledger.subject(long).erased


def test_a_subject_erased_once_cannot_be_erased_again_even_after_a_request_closed() -> None:
    ledger = Ledger(env=MEMORY)
    subject = _subject_with_history(ledger, 3)
    request = ledger.receive_data_request(subject, "access", "email", "olga").aggregate.id
    ledger.erase_subject(subject, "officer")
    ledger.reject_data_request(request, "identity not proven", "olga")  # closes after the fence
    events = len(list(ledger.events.get(subject)))

    with pytest.raises(SubjectErased):
        ledger.erase_subject(subject, "officer")
    assert len(list(ledger.events.get(subject))) == events


def test_a_shredded_key_without_the_fence_event_still_gets_the_fence_on_erasure() -> None:
    ledger = Ledger(env=MEMORY)
    subject = _subject_with_history(ledger, 3)
    ledger.keys.shred(subject)  # as after a crash between the shredding and the fence

    ledger.erase_subject(subject, "officer")

    assert isinstance(list(ledger.events.get(subject))[-1], Subject.Erased)


def test_erasing_what_is_not_a_subject_is_not_found() -> None:
    ledger = Ledger(env=MEMORY)
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id

    for unknown in (uuid4(), tenant):
        with pytest.raises(NotFound):
            ledger.erase_subject(unknown, "officer")


def test_consent_for_a_subject_that_never_existed_is_not_found_rather_than_erased() -> None:
    ledger = Ledger(env=MEMORY)

    with pytest.raises(NotFound):
        ledger.give_consent(uuid4(), "info_mail", "web_form", "2026-01", "crm")
