"""Consent per purpose and per channel (DESIGN.md §6): each (purpose, channel) has its own state;
a decision without a channel is one for every channel of the purpose."""

from __future__ import annotations

import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from domain.ledger import Ledger
from domain.errors import TenantClosed
from tests.unit.conftest import event_count

APP = "crm"


@pytest.fixture
def subject_id(ledger: Ledger) -> UUID:
    return ledger.register_subject("Joost Bakker", "joost@example.org", APP).aggregate.id


def allowed(ledger: Ledger, subject_id: UUID, channel: str | None) -> bool:
    return bool(ledger.consent_answer(subject_id, "info_mail", channel)["allowed"])


def test_withdrawing_sms_leaves_the_email_consent_standing(ledger: Ledger, subject_id: UUID) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP, channel="email")
    ledger.withdraw_consent(subject_id, "info_mail", "sms", APP, channel="sms")
    assert allowed(ledger, subject_id, "email")
    assert not allowed(ledger, subject_id, "sms")


def test_a_consent_for_every_channel_allows_each_until_one_channel_is_withdrawn(
    ledger: Ledger, subject_id: UUID
) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP)
    assert allowed(ledger, subject_id, None) and allowed(ledger, subject_id, "post")
    ledger.withdraw_consent(subject_id, "info_mail", "sms", APP, channel="sms")
    assert allowed(ledger, subject_id, "email")
    assert not allowed(ledger, subject_id, "sms")
    answer = ledger.consent_answer(subject_id, "info_mail")
    assert answer["allowed"] is False, "without a channel, allowed means: on every channel"
    assert answer["channels"]["email"]["allowed"] and not answer["channels"]["sms"]["allowed"]


def test_a_later_withdrawal_for_every_channel_ends_each_channels_own_consent(
    ledger: Ledger, subject_id: UUID
) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP, channel="email")
    ledger.withdraw_consent(subject_id, "info_mail", "email", APP)
    assert not allowed(ledger, subject_id, "email")
    ledger.give_consent(subject_id, "info_mail", "web_form", "v2", APP, channel="email")
    assert allowed(ledger, subject_id, "email"), "a channel's own later decision stands again"


def test_a_consent_given_on_one_channel_is_not_a_consent_for_every_channel(
    ledger: Ledger, subject_id: UUID
) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP, channel="email")
    answer = ledger.consent_answer(subject_id, "info_mail")
    assert answer["allowed"] is False
    assert answer["reason"].startswith("not on every channel")
    assert answer["decision"]["channel"] == "email"


def test_the_answer_says_why_not(ledger: Ledger, subject_id: UUID) -> None:
    assert ledger.consent_answer(subject_id, "info_mail", "sms")["reason"] == "consent was never given"
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP)
    ledger.withdraw_consent(subject_id, "info_mail", "sms", APP, channel="sms")
    assert ledger.consent_answer(subject_id, "info_mail", "sms")["reason"] == "consent was withdrawn"


def test_a_decision_recorded_before_channels_counted_reads_as_one_for_every_channel(
    ledger: Ledger, subject_id: UUID
) -> None:
    """An event as the ledger stored it before this version: no class_version, a channel
    named, and the decision then applied to the whole purpose."""
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP, channel="email")
    stored = ledger.recorder.select_events(subject_id, desc=True, limit=1)[0]
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    state["originator_version"] = 3
    ledger.recorder.insert_events([StoredEvent(
        originator_id=subject_id, originator_version=3,
        topic=stored.topic.replace("ConsentGiven", "ConsentWithdrawn"),
        state=json.dumps({**state, "channel": "sms"}).encode(),
    )])
    subject = ledger.subject(subject_id)
    assert subject.consents["info_mail"]["*"]["status"] == "withdrawn"
    assert not allowed(ledger, subject_id, "email"), "an old withdrawal named sms but meant all"
    old = list(ledger.events.get(subject_id))[-1]
    assert old.channel is None and old.noted_channel == "sms"


def test_a_terminated_tenants_subjects_take_no_consent_and_are_answered_no(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    subject = ledger.register_subject("Ann", "ann@example.org", APP, tenant).aggregate.id
    ledger.give_consent(subject, "info_mail", "web_form", "v1", APP)
    ledger.terminate_tenant(tenant, "olga")
    before = event_count(ledger)
    for write in (
        lambda: ledger.give_consent(subject, "info_mail", "web_form", "v2", APP),
        lambda: ledger.withdraw_consent(subject, "info_mail", "api", APP),
    ):
        with pytest.raises(TenantClosed) as refused:
            write()
        assert "terminated" in refused.value.detail
    assert event_count(ledger) == before
    answer = ledger.consent_answer(subject, "info_mail", "email")
    assert answer == {**answer, "allowed": False, "reason": "the tenant is terminated"}
    ledger.reactivate_tenant(tenant, "olga")
    assert allowed(ledger, subject, "email"), "the consent given before stands again"


def test_the_persons_own_unsubscribe_is_recorded_even_while_the_tenant_is_terminated(
    ledger: Ledger,
) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    subject = ledger.register_subject("Ann", "ann@example.org", APP, tenant).aggregate.id
    ledger.give_consent(subject, "info_mail", "web_form", "v1", APP)
    ledger.terminate_tenant(tenant, "olga")
    assert ledger.withdraw_consent_if_given(subject, "info_mail", "unsubscribe_link", "link")
    ledger.reactivate_tenant(tenant, "olga")
    assert not allowed(ledger, subject, "email")
