"""A visitor of a vendor's shop meets the consent banner in Chromium (issue 20, point 2).

The shop's page is served from another origin (`localhost:<port>`, its own little HTTP server)
than the ledger (`127.0.0.1:<port>`), and embeds the banner as docs/privacy-center.md tells a
vendor to: one script tag and a footer link. The site is registered through `POST /v1/sites`
with the shop's origin, and what each click recorded is asked of the ledger's API as the
vendor's system would ask it. The ledger runs on SQLite and on PostgreSQL.

Each test is a new browser context: a visitor without cookies. Screenshots of the banner land
in test-output/screenshots/ (banner.png, banner-customise.png, banner-nl.png; banner-gpc.png
from test_banner_gpc_and_keyboard.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.banner.banner_shop import (
    BANNER, NOTICE_VERSION, Shop, choose, consent_events, open_shop_page, register,
)

pytestmark = pytest.mark.browser


def test_nothing_is_pre_ticked_and_reject_sits_beside_accept_the_same_size(
    visitor: Any, shop: Shop, screenshot_dir: Path
) -> None:
    page = open_shop_page(visitor, shop)
    banner = page.locator(BANNER)
    assert banner.get_attribute("role") == "dialog"
    reject = page.get_by_role("button", name=shop.text("reject_all"))
    accept = page.get_by_role("button", name=shop.text("accept_all"))
    assert reject.is_visible() and accept.is_visible()
    rejected, accepted = reject.bounding_box(), accept.bounding_box()
    # The same size, to the pixel (layout splits a row's width in fractions of one).
    assert abs(rejected["width"] - accepted["width"]) < 1
    assert rejected["height"] == accepted["height"] and rejected["y"] == accepted["y"]
    assert reject.evaluate("b => getComputedStyle(b).backgroundColor") == accept.evaluate(
        "b => getComputedStyle(b).backgroundColor"
    )
    # Nothing is kept on the visitor's machine before they choose.
    assert [c["name"] for c in visitor.cookies() if c["name"].startswith("ledger_")] == []
    page.screenshot(path=str(screenshot_dir / "banner.png"))

    page.get_by_role("button", name=shop.text("customise")).click()

    analytics = banner.locator("#ledger-category-analytics")
    tracking = banner.locator("#ledger-category-tracking")
    analytics.wait_for(state="visible")
    assert page.locator("#ledger-category-necessary").is_checked()
    assert page.locator("#ledger-category-necessary").is_disabled()
    assert not analytics.is_checked() and not tracking.is_checked()
    assert analytics.is_enabled() and tracking.is_enabled()
    page.mouse.move(0, 0)  # no hover on the button under the pointer, in the picture
    page.screenshot(path=str(screenshot_dir / "banner-customise.png"))


def test_reject_all_takes_one_click_and_the_ledger_records_both_refused_by_cookie_banner(
    visitor: Any, shop: Shop
) -> None:
    page = open_shop_page(visitor, shop)

    receipt, position, answer = choose(
        page, lambda: page.get_by_role("button", name=shop.text("reject_all")).click()
    )

    assert answer["gpc"] is False
    for purpose in ("analytics_cookies", "tracking_cookies"):
        assert shop.recorded(receipt, position, purpose) == (
            False, "withdrawn", "cookie_banner", NOTICE_VERSION
        )
    assert consent_events(page) == [{"analytics": False, "tracking": False, "receipt_id": receipt}]
    cookies = {c["name"]: c for c in visitor.cookies()}
    assert cookies["ledger_visitor"]["sameSite"] == "Lax"
    assert cookies["ledger_visitor"]["expires"] > 0  # kept, not a session cookie


def test_accept_all_takes_one_click_and_the_ledger_records_both_given_by_cookie_banner(
    visitor: Any, shop: Shop
) -> None:
    page = open_shop_page(visitor, shop)

    receipt, position, _ = choose(
        page, lambda: page.get_by_role("button", name=shop.text("accept_all")).click()
    )

    for purpose in ("analytics_cookies", "tracking_cookies"):
        assert shop.recorded(receipt, position, purpose) == (
            True, "given", "cookie_banner", NOTICE_VERSION
        )
    assert consent_events(page) == [{"analytics": True, "tracking": True, "receipt_id": receipt}]


def test_the_banner_stays_away_after_a_choice_and_the_footer_link_reopens_it_with_that_choice(
    visitor: Any, shop: Shop
) -> None:
    page = open_shop_page(visitor, shop)
    page.get_by_role("button", name=shop.text("customise")).click()
    page.locator("#ledger-category-analytics").check()
    receipt, _, _ = choose(page, lambda: page.get_by_role("button", name=shop.text("save")).click())

    page.reload()
    # The script ran and read the choice (it tells the page so) and did not show the banner.
    page.wait_for_function("() => window.shopConsentEvents.length === 1")
    assert consent_events(page) == [
        {"analytics": True, "tracking": False, "receipt_id": receipt, "stored": True}
    ]
    assert page.locator(BANNER).count() == 0

    page.get_by_role("link", name="Cookie settings").click()

    page.locator(BANNER).wait_for(state="visible")
    assert page.locator("#ledger-category-analytics").is_checked()
    assert not page.locator("#ledger-category-tracking").is_checked()
    # Closing it again records nothing and keeps the choice.
    page.get_by_role("button", name=shop.text("close")).click()
    page.locator(BANNER).wait_for(state="hidden")
    assert len(consent_events(page)) == 1


def test_a_dutch_page_gets_the_dutch_banner(visitor: Any, shop: Shop, screenshot_dir: Path) -> None:
    page = open_shop_page(visitor, shop, "/nl/")
    config = shop.config()
    dutch = config["texts"]["nl"]

    banner = page.locator(BANNER)
    assert banner.get_attribute("lang") == "nl"
    assert banner.locator(".ledger-title").inner_text() == dutch["title"]
    assert page.get_by_role("button", name=dutch["reject_all"]).is_visible()
    assert page.get_by_role("button", name=dutch["accept_all"]).is_visible()
    assert dutch["title"] != config["texts"]["en"]["title"]
    page.screenshot(path=str(screenshot_dir / "banner-nl.png"))


def test_a_refused_choice_is_said_in_the_banner_which_stays_open_with_nothing_recorded(
    visitor: Any, shop: Shop
) -> None:
    """The notice changes while the visitor reads: their choice names the old one, the ledger
    refuses it (409), and the banner says so instead of pretending it was saved; asked again,
    the choice is made under the new notice."""
    own = register(shop.ledger, shop.url, "Koffiebranderij Noord (actie)")
    page = open_shop_page(visitor, shop, site=own)
    changed = shop.as_officer("PATCH", f"/v1/sites/{own['id']}", {"notice_version": "2026-04"})
    assert changed.status_code == 200, changed.text

    with page.expect_response(lambda r: r.url.endswith("/choices")) as answered:
        page.get_by_role("button", name=shop.text("accept_all")).click()

    assert answered.value.status == 409
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    # The refusal reached the script with its status (it carries the CORS headers too).
    assert "409" in alert.inner_text()
    assert page.locator(BANNER).is_visible()
    assert page.locator(BANNER).get_attribute("data-receipt") is None
    assert consent_events(page) == []
    assert "ledger_consent" not in {c["name"] for c in visitor.cookies()}

    _, _, answer = choose(
        page, lambda: page.get_by_role("button", name=shop.text("accept_all")).click()
    )
    assert answer["notice_version"] == "2026-04"
    assert alert.inner_text() == ""


def test_the_shop_page_loads_nothing_but_its_own_page_and_the_ledger(
    visitor: Any, shop: Shop
) -> None:
    """No third party: every request the banner makes goes to the ledger it came from."""
    hosts: list[str] = []
    page = visitor.new_page()
    page.on("request", lambda r: hosts.append(r.url.split("/")[2]))
    page.goto(shop.page_url())
    page.locator(BANNER).wait_for(state="visible")
    page.wait_for_load_state("networkidle")

    ledger_host = shop.ledger.url.split("/")[2]
    assert set(hosts) == {shop.url.split("/")[2], ledger_host}
    assert consent_events(page) == []


def test_an_erased_visitor_who_chooses_again_starts_afresh_as_a_new_visitor(
    visitor: Any, shop: Shop
) -> None:
    page = open_shop_page(visitor, shop)
    receipt, _, _ = choose(
        page, lambda: page.get_by_role("button", name=shop.text("reject_all")).click()
    )
    erased = receipt.split(":")[0]
    filed = shop.as_officer("POST", f"/v1/subjects/{erased}/requests",
                            {"kind": "erasure", "channel": "web_form"})
    assert filed.status_code == 201, filed.text
    request = f"/v1/requests/{filed.json()['id']}"
    assert shop.as_officer("POST", f"{request}/verify-identity", {"method": "cookie id"}).is_success
    assert shop.as_officer("POST", f"{request}/fulfil", {}).is_success

    page.get_by_role("link", name="Cookie settings").click()
    page.locator(BANNER).wait_for(state="visible")
    with page.expect_response(
        lambda r: r.url.endswith("/choices") and r.status == 201
    ) as answered:
        page.get_by_role("button", name=shop.text("accept_all")).click()

    # The ledger said 410 for the erased visitor; the script chose again under a new id.
    answer = answered.value.json()
    assert answer["visitor"] != erased
    assert shop.recorded(answer["receipt_id"], answer["position"], "analytics_cookies")[:2] == (
        True, "given"
    )
