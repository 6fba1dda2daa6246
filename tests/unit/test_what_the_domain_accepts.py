"""Small truths the domain keeps: phone numbers are numbers, currencies exist, a request that
arrived yesterday is due a month after yesterday, and no text holds a NUL character."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import InvalidInput
from tests.unit.conftest import event_count

APP = "crm"


@pytest.mark.parametrize("written, kept", [
    ("+31 6 1234 5678", "+31612345678"),
    ("0031 (6) 1234-5678", "+31612345678"),
    ("+1 415.555.0100", "+14155550100"),
])
def test_a_phone_number_is_kept_in_e164(ledger: Ledger, written: str, kept: str) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP, phone=written).aggregate
    assert subject.phone == kept


@pytest.mark.parametrize("phone", ["06 1234 5678", "call me", "+0 6 1234 5678", "+31 6", "+31 6 1234 5678 9999 9"])
def test_a_phone_number_without_its_country_code_or_of_the_wrong_length_is_refused(
    ledger: Ledger, phone: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        ledger.register_subject("Ann", "ann@example.org", APP, phone=phone)
    assert refused.value.field == "phone"


def _portability_request(ledger: Ledger) -> object:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    return ledger.receive_data_request(subject, "portability", "email", "olga").aggregate.id


@pytest.mark.parametrize("currency", ["EUR", "usd", " gbp "])
def test_a_fee_is_quoted_in_an_iso_4217_currency(ledger: Ledger, currency: str) -> None:
    request = _portability_request(ledger)
    quoted = ledger.quote_data_request(request, 1500, currency, "olga").aggregate  # type: ignore[arg-type]
    assert quoted.quote["currency"] == currency.strip().upper()


@pytest.mark.parametrize("currency", ["ABC", "XAU", "XTS", "HRK", "EURO", "", "€"])
def test_a_fee_in_no_currency_in_circulation_is_refused(ledger: Ledger, currency: str) -> None:
    request = _portability_request(ledger)
    with pytest.raises(InvalidInput) as refused:
        ledger.quote_data_request(request, 1500, currency, "olga")  # type: ignore[arg-type]
    assert refused.value.field == "currency"


def test_a_request_that_arrived_earlier_is_due_a_month_after_it_arrived(
    ledger: Ledger, clock: MovableClock
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    arrived = clock.now() - timedelta(days=3)
    request = ledger.receive_data_request(
        subject, "access", "letter", "olga", received_at=arrived
    ).aggregate
    assert request.received_at == arrived
    assert request.due_at == arrived.replace(month=arrived.month + 1)
    assert request.entered_by == "olga" and request.created_on == clock.now()


@pytest.mark.parametrize("days, why", [(-1, "future"), (370, "year")])
def test_a_request_cannot_arrive_in_the_future_or_over_a_year_ago(
    ledger: Ledger, clock: MovableClock, days: int, why: str
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", APP).aggregate.id
    with pytest.raises(InvalidInput) as refused:
        ledger.receive_data_request(
            subject, "access", "letter", "olga", received_at=clock.now() - timedelta(days=days)
        )
    assert refused.value.field == "received_at" and why in refused.value.detail


NUL = "a\x00b"


@pytest.mark.parametrize("what, field, write", [
    ("a name", "name", lambda l, t: l.register_subject(NUL, "a@example.org", APP)),
    ("an email", "email", lambda l, t: l.register_subject("A", "a\x00@example.org", APP)),
    ("a tenant's name", "name", lambda l, t: l.open_tenant(NUL, "olga")),
    ("a reason", "reason", lambda l, t: l.request_access(t, "sam", "read", ["orders"], NUL)),
    ("a ticket", "ticket", lambda l, t: l.request_access(t, "sam", "read", ["orders"], "r", ticket=NUL)),
    ("a resource", "resources", lambda l, t: l.request_access(t, "sam", "read", [NUL], "r")),
    ("a description", "description", lambda l, t: l.report_incident("Leak", NUL, "low", [t], "olga")),
    ("a reference", "reference", lambda l, t: l.record_disclosure(t, "police", "court_order", NUL, "olga")),
    ("a location reason", "reason", lambda l, t: l.move_tenant_location(t, "DE", NUL, "olga")),
])
def test_no_text_the_domain_keeps_may_hold_a_nul_character(
    ledger: Ledger, what: str, field: str, write: object
) -> None:
    tenant = ledger.open_tenant("Acme B.V.", "olga").aggregate.id
    before = event_count(ledger)
    with pytest.raises(InvalidInput) as refused:
        write(ledger, tenant)  # type: ignore[operator]
    assert refused.value.field == field, what
    assert event_count(ledger) == before
