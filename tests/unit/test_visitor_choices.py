"""A website visitor in the ledger: made by its first banner choice, one save per choice, GPC
honoured as a refusal, erased like any subject, and linked to a registered person once."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.banner_site import BannerSite
from domain.errors import InvalidInput, NotFound, StateConflict, SubjectErased, TenantClosed
from domain.ledger import Ledger
from domain.visitor import VISITOR, visitor_subject_id
from tests.unit.conftest import event_count

BROWSER = "cmFuZG9tLWJyb3dzZXItaWQtMQ"


def site(tenant_id=None, notice: str = "2026-03") -> BannerSite:
    return BannerSite(uuid4(), "site_" + "k" * 22, "Shop", ("https://shop.example",), tenant_id,
                      notice)


def test_a_first_choice_makes_a_visitor_without_name_or_email_in_one_save(ledger: Ledger) -> None:
    shop = site()

    outcome = ledger.record_banner_choice(shop, BROWSER, True, False, False)

    visitor = ledger.subject(outcome.aggregate.id)
    assert visitor.kind == VISITOR and visitor.name is None and visitor.email is None
    assert visitor.id == visitor_subject_id(shop.id, BROWSER)
    assert visitor.notices_shown == {"necessary": "2026-03"}
    # Arrived, NoticeShown and two decisions: one save, its last event the last decision.
    assert event_count(ledger) == outcome.position == 4
    assert visitor.is_allowed("analytics_cookies")
    assert not visitor.is_allowed("tracking_cookies")
    assert visitor.consents["tracking_cookies"]["*"]["method"] == "cookie_banner"
    assert ledger.keys.get(visitor.id) is not None


def test_the_same_browser_is_one_visitor_per_site_and_another_on_another_site(
    ledger: Ledger,
) -> None:
    shop, blog = site(), site()
    first = ledger.record_banner_choice(shop, BROWSER, True, True, False).aggregate.id
    again = ledger.record_banner_choice(shop, BROWSER, False, False, False).aggregate.id
    elsewhere = ledger.record_banner_choice(blog, BROWSER, True, True, False).aggregate.id
    assert first == again != elsewhere
    assert not ledger.subject(first).is_allowed("analytics_cookies")


def test_global_privacy_control_withdraws_tracking_and_third_party_marketing(
    ledger: Ledger,
) -> None:
    outcome = ledger.record_banner_choice(site(), BROWSER, True, True, True)
    visitor = ledger.subject(outcome.aggregate.id)
    for purpose in ("tracking_cookies", "third_party_marketing"):
        assert not visitor.is_allowed(purpose)
        assert visitor.consents[purpose]["*"]["method"] == "gpc"
    assert visitor.is_allowed("analytics_cookies")


def test_a_visitor_id_not_made_by_the_script_is_refused_and_nothing_is_recorded(
    ledger: Ledger,
) -> None:
    for bad in ("short", "x" * 65, "has spaces in it and is long", "ünïcödé" * 4):
        with pytest.raises(InvalidInput) as refused:
            ledger.record_banner_choice(site(), bad, True, True, False)
        assert refused.value.field == "visitor_id"
    assert event_count(ledger) == 0


def test_a_terminated_tenants_site_records_no_choice(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Shop B.V.", "olga").aggregate.id
    ledger.terminate_tenant(tenant, "olga")
    before = event_count(ledger)
    with pytest.raises(TenantClosed):
        ledger.record_banner_choice(site(tenant), BROWSER, True, True, False)
    assert event_count(ledger) == before


def test_an_erased_visitor_is_unreadable_and_records_nothing_more(ledger: Ledger) -> None:
    shop = site()
    visitor = ledger.record_banner_choice(shop, BROWSER, True, True, False).aggregate.id
    ledger.erase_subject(visitor, "olga")
    before = event_count(ledger)
    assert ledger.keys.get(visitor) is None
    with pytest.raises(SubjectErased):
        ledger.record_banner_choice(shop, BROWSER, True, True, False)
    assert event_count(ledger) == before
    assert ledger.subject(visitor).erased


def test_a_visitor_is_linked_to_one_person_of_its_own_tenant(ledger: Ledger) -> None:
    shop = site()
    visitor = ledger.record_banner_choice(shop, BROWSER, True, True, False).aggregate.id
    jan = ledger.register_subject("Jan", "jan@example.org", "crm").aggregate.id
    piet = ledger.register_subject("Piet", "piet@example.org", "crm").aggregate.id

    linked = ledger.link_visitor(jan, shop.id, BROWSER, "olga")

    assert linked is not None and event_count(ledger) == linked.position
    assert ledger.subject(visitor).linked_to == jan
    assert ledger.subject(jan).visitors == {visitor}
    assert ledger.link_visitor(jan, shop.id, BROWSER, "olga") is None  # nothing recorded
    with pytest.raises(StateConflict, match="another subject"):
        ledger.link_visitor(piet, shop.id, BROWSER, "olga")
    with pytest.raises(NotFound, match="no visitor"):
        ledger.link_visitor(jan, shop.id, "bm8tc3VjaC12aXNpdG9yLWhlcmU", "olga")


def test_a_visitor_is_never_linked_across_tenants_or_to_another_visitor(ledger: Ledger) -> None:
    tenant = ledger.open_tenant("Shop B.V.", "olga").aggregate.id
    shop = site(tenant)
    visitor = ledger.record_banner_choice(shop, BROWSER, True, True, False).aggregate.id
    outsider = ledger.register_subject("Jan", "jan@example.org", "crm").aggregate.id
    before = event_count(ledger)
    with pytest.raises(StateConflict, match="different tenants"):
        ledger.link_visitor(outsider, shop.id, BROWSER, "olga")
    other_visitor = ledger.record_banner_choice(
        shop, "YW5vdGhlci1icm93c2VyLWlkLTI", True, True, False
    ).aggregate.id
    with pytest.raises(InvalidInput):
        ledger.link_visitor(other_visitor, shop.id, BROWSER, "olga")
    assert ledger.subject(visitor).linked_to is None
    assert event_count(ledger) == before + 4  # only the second visitor's own choice
