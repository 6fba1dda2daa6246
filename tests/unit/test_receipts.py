"""Every consent given or withdrawn has a receipt with the fields of ISO/IEC TS 27560."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from api.services.receipts import (
    Controller,
    consent_receipt,
    consent_receipts,
    controller_from_settings,
)
from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import InvalidInput, NotFound
from tests.conftest import make_settings

ACME = Controller(name="Acme SaaS B.V.", contact="privacy@acme.example", jurisdiction="NL",
                  notice_url="https://acme.example/privacy")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(clock=MovableClock())


def test_a_consent_given_and_then_withdrawn_has_two_receipts_naming_the_events(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "signup-app").aggregate
    given = ledger.give_consent(subject.id, "product_mail", "double_opt_in", "2026-01", "signup-app",
                                channel="email")
    ledger.clock.move(days=3)
    withdrawn = ledger.withdraw_consent(subject.id, "product_mail", "web_form", "portal")

    first, second = consent_receipts(ledger, subject.id, ACME)

    assert first.record_id == f"{subject.id}:{given.aggregate.version}"
    assert second.record_id == f"{subject.id}:{withdrawn.aggregate.version}"
    assert (first.state, second.state) == ("given", "withdrawn")
    assert first.subject_id == str(subject.id)
    assert first.purpose == "product_mail"
    assert (first.method, first.channel) == ("double_opt_in", "email")
    assert first.notice == "https://acme.example/privacy"
    assert (first.controller, first.controller_contact) == ("Acme SaaS B.V.", "privacy@acme.example")
    assert first.jurisdiction == "NL"
    assert second.time == ledger.clock.now()
    assert first.recorded_by == "signup-app" and second.recorded_by == "portal"


def test_a_withdrawal_that_names_no_notice_gets_the_version_it_withdraws(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v3", "app")
    ledger.withdraw_consent(subject.id, "info_mail", "email", "app")
    assert [r.notice_version for r in consent_receipts(ledger, subject.id)] == ["v3", "v3"]


def test_receipts_can_be_asked_for_one_purpose_and_an_unknown_purpose_names_the_field(
    ledger: Ledger,
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v1", "app")
    ledger.give_consent(subject.id, "profiling", "checkbox", "v1", "app")
    assert [r.purpose for r in consent_receipts(ledger, subject.id, purpose="profiling")] == [
        "profiling"
    ]
    with pytest.raises(InvalidInput) as error:
        consent_receipts(ledger, subject.id, purpose="telepathy")
    assert error.value.field == "purpose"


def test_one_receipt_is_found_by_its_record_id_and_a_wrong_id_is_not_found(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v1", "app")
    ledger.give_consent(subject.id, "blog_mail", "web_form", "v1", "app")
    receipt = consent_receipt(ledger, subject.id, f"{subject.id}:3")
    assert receipt.purpose == "blog_mail"
    with pytest.raises(NotFound):
        consent_receipt(ledger, subject.id, f"{subject.id}:1")  # the registration is no receipt
    with pytest.raises(NotFound):
        consent_receipts(ledger, uuid4())


def test_receipts_remain_after_erasure_as_proof_of_what_was_decided(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v1", "app", ip_address="203.0.113.9")
    ledger.erase_subject(subject.id, "officer")
    [receipt] = consent_receipts(ledger, subject.id)
    assert (receipt.state, receipt.method, receipt.notice_version) == ("given", "web_form", "v1")


def test_a_receipt_as_json_has_every_27560_field_and_a_time_with_its_zone(ledger: Ledger) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    ledger.give_consent(subject.id, "info_mail", "web_form", "v1", "app")
    [receipt] = consent_receipts(ledger, subject.id)
    data = receipt.as_json()
    for field in ("record_id", "subject_id", "purpose", "notice", "notice_version", "method",
                  "time", "controller", "jurisdiction", "state", "channel", "schema_version"):
        assert field in data
    assert data["time"] == "2026-01-05T09:00:00+00:00"


def test_the_controller_comes_from_settings_where_it_is_configured(tmp_path: Path) -> None:
    settings = make_settings("memory://", tmp_path, public_url="https://ledger.acme.example/")
    controller = controller_from_settings(settings)
    assert controller.notice_url == "https://ledger.acme.example/privacy"
    assert controller.jurisdiction == "NL"
