"""Subjects and consent (DESIGN.md §1, §7): no consent without an explicit, documented given-event."""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import (
    ConsentNeedsNoticeAndMethod,
    InvalidInput,
    SubjectErased,
    UnknownPurpose,
)
from domain.personal import ERASED
from domain.vocabulary import Purpose
from tests.unit.conftest import event_count

APP = "mail-app"


@pytest.fixture
def subject_id(ledger: Ledger) -> UUID:
    return ledger.register_subject("Joost Bakker", "joost@example.org", APP).aggregate.id


@pytest.mark.parametrize("purpose", [p.value for p in Purpose])
def test_nothing_never_given_is_allowed(ledger: Ledger, subject_id: UUID, purpose: str) -> None:
    assert ledger.subject(subject_id).is_allowed(purpose) is False


def test_given_consent_is_allowed_and_remembers_how_and_under_which_notice(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    subject = ledger.give_consent(
        subject_id, "info_mail", "double_opt_in", "privacy-2027-01", APP, channel="email"
    ).aggregate
    assert subject.is_allowed("info_mail", "email")
    assert not subject.is_allowed("info_mail", "sms"), "consent is per channel"
    assert not subject.is_allowed("product_mail", "email"), "consent is per purpose"
    assert subject.consents["info_mail"]["email"] == {
        "status": "given", "channel": "email", "since": clock.now(),
        "notice_version": "privacy-2027-01", "method": "double_opt_in", "version": 2,
    }


@pytest.mark.parametrize("notice_version", [None, "", "  "])
def test_consent_without_a_notice_version_is_refused(
    ledger: Ledger, subject_id: UUID, notice_version: str | None
) -> None:
    before = event_count(ledger)
    with pytest.raises(ConsentNeedsNoticeAndMethod) as refused:
        ledger.give_consent(subject_id, "info_mail", "web_form", notice_version, APP)  # type: ignore[arg-type]
    assert refused.value.field == "notice_version"
    assert event_count(ledger) == before


@pytest.mark.parametrize("method", [None, ""])
def test_consent_without_a_method_is_refused(
    ledger: Ledger, subject_id: UUID, method: str | None
) -> None:
    with pytest.raises(ConsentNeedsNoticeAndMethod) as refused:
        ledger.give_consent(subject_id, "info_mail", method, "v1", APP)  # type: ignore[arg-type]
    assert refused.value.field == "method"


@pytest.mark.parametrize("method", ["pre_ticked", "pre_ticked_box", "opt_out", "implied"])
def test_a_pre_ticked_box_or_silence_is_not_an_accepted_method(
    ledger: Ledger, subject_id: UUID, method: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        ledger.give_consent(subject_id, "info_mail", method, "v1", APP)
    assert refused.value.field == "method"
    assert not ledger.subject(subject_id).is_allowed("info_mail")


def test_an_unknown_purpose_is_refused_by_name(ledger: Ledger, subject_id: UUID) -> None:
    with pytest.raises(UnknownPurpose) as refused:
        ledger.give_consent(subject_id, "selling_to_anyone", "web_form", "v1", APP)
    assert refused.value.field == "purpose"
    with pytest.raises(UnknownPurpose):
        ledger.subject(subject_id).is_allowed("selling_to_anyone")


def test_withdrawal_needs_no_notice_version_and_ends_the_permission(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    ledger.give_consent(subject_id, "product_mail", "web_form", "v1", APP)
    clock.move(days=3)
    subject = ledger.withdraw_consent(subject_id, "product_mail", "unsubscribe_link", "anonymous").aggregate
    assert not subject.is_allowed("product_mail")
    assert subject.consents["product_mail"]["*"]["status"] == "withdrawn"
    assert subject.consents["product_mail"]["*"]["since"] == clock.now()


def test_consent_given_again_after_withdrawal_counts_again(ledger: Ledger, subject_id: UUID) -> None:
    ledger.give_consent(subject_id, "profiling", "cookie_banner", "v1", APP)
    ledger.withdraw_consent(subject_id, "profiling", "cookie_banner", APP)
    assert ledger.give_consent(subject_id, "profiling", "cookie_banner", "v2", APP).aggregate.is_allowed("profiling")


def test_erasure_fences_every_further_consent(ledger: Ledger, subject_id: UUID) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP)
    ledger.erase_subject(subject_id, "officer-1")
    subject = ledger.subject(subject_id)
    assert subject.erased and not subject.is_allowed("info_mail")
    before = event_count(ledger)
    with pytest.raises(SubjectErased):
        ledger.give_consent(subject_id, "info_mail", "web_form", "v1", APP)
    with pytest.raises(SubjectErased):
        ledger.withdraw_consent(subject_id, "info_mail", "unsubscribe_link", APP)
    with pytest.raises(SubjectErased):
        ledger.rectify_subject(subject_id, "officer-1", name="Someone Else")
    with pytest.raises(SubjectErased):
        ledger.erase_subject(subject_id, "officer-1")
    assert event_count(ledger) == before


def test_rectification_changes_only_the_fields_given(ledger: Ledger, subject_id: UUID) -> None:
    subject = ledger.rectify_subject(subject_id, "officer-1", email="j.bakker@example.org").aggregate
    assert (subject.name, subject.email) == ("Joost Bakker", "j.bakker@example.org")
    with pytest.raises(InvalidInput):
        ledger.rectify_subject(subject_id, "officer-1")


def test_the_subject_as_it_stood_in_the_past(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    ledger.give_consent(subject_id, "blog_mail", "web_form", "v1", APP)
    moment = clock.now()
    clock.move(days=1)
    ledger.withdraw_consent(subject_id, "blog_mail", "unsubscribe_link", APP)
    past = ledger.subject_as_of(subject_id, moment)
    assert past is not None and past.is_allowed("blog_mail")
    assert not ledger.subject(subject_id).is_allowed("blog_mail")


def test_an_erased_subject_in_the_past_is_still_erased(
    ledger: Ledger, subject_id: UUID, clock: MovableClock
) -> None:
    moment = clock.now()
    clock.move(days=1)
    ledger.erase_subject(subject_id, "officer-1")
    past = ledger.subject_as_of(subject_id, moment)
    assert past is not None and past.name == ERASED and past.email == ERASED


def test_withdrawing_only_a_standing_consent_records_nothing_the_second_time(
    ledger: Ledger, subject_id: UUID
) -> None:
    ledger.give_consent(subject_id, "info_mail", "web_form", "v3", APP, channel="email")

    first = ledger.withdraw_consent_if_given(subject_id, "info_mail", "unsubscribe_link", APP)
    second = ledger.withdraw_consent_if_given(subject_id, "info_mail", "unsubscribe_link", APP)
    never = ledger.withdraw_consent_if_given(subject_id, "blog_mail", "unsubscribe_link", APP)

    assert first is not None and second is None and never is None
    subject = ledger.subject(subject_id)
    consent = subject.consents["info_mail"]["*"]  # a link without a channel: every channel
    assert (consent["status"], consent["channel"], consent["notice_version"]) == (
        "withdrawn", None, "v3"
    )
    assert not subject.is_allowed("info_mail", "email")
