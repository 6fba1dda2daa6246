"""The banner with Global Privacy Control, and with the keyboard alone, in Chromium (issue 20,
point 2): the shop and its ledger are those of tests/browser/banner/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.banner.banner_shop import (
    BANNER, SCREEN, Shop, choose, consent_events, open_shop_page, tab_to,
)

pytestmark = pytest.mark.browser


def test_with_global_privacy_control_the_banner_says_so_and_tracking_is_refused_by_gpc(
    chromium: Any, shop: Shop, screenshot_dir: Path
) -> None:
    context = chromium.new_context(viewport=SCREEN, extra_http_headers={"Sec-GPC": "1"})
    try:
        page = open_shop_page(context, shop)
        note = page.locator(f"{BANNER} .ledger-gpc")
        assert "Global Privacy Control" in note.inner_text()
        page.get_by_role("button", name=shop.text("customise")).click()
        tracking = page.locator("#ledger-category-tracking")
        tracking.wait_for(state="visible")
        assert not tracking.is_checked() and tracking.is_disabled()
        page.mouse.move(0, 0)  # no hover on the button under the pointer, in the picture
        page.screenshot(path=str(screenshot_dir / "banner-gpc.png"))

        receipt, position, answer = choose(
            page, lambda: page.get_by_role("button", name=shop.text("accept_all")).click()
        )

        assert answer["gpc"] is True
        assert shop.recorded(receipt, position, "analytics_cookies")[:3] == (
            True, "given", "cookie_banner"
        )
        for purpose in ("tracking_cookies", "third_party_marketing"):
            assert shop.recorded(receipt, position, purpose)[:3] == (False, "withdrawn", "gpc")
        # The page learns what was recorded, not what the button asked for.
        assert consent_events(page) == [
            {"analytics": True, "tracking": False, "receipt_id": receipt}
        ]
    finally:
        context.close()


def test_keyboard_alone_rejects_all_with_tab_and_enter(visitor: Any, shop: Shop) -> None:
    page = open_shop_page(visitor, shop)
    # The focus moved into the banner when it was shown.
    assert page.evaluate("() => !!document.activeElement.closest('#ledger-banner')")

    tab_to(page, shop.text("reject_all"))
    receipt, position, _ = choose(page, lambda: page.keyboard.press("Enter"))

    for purpose in ("analytics_cookies", "tracking_cookies"):
        assert shop.recorded(receipt, position, purpose)[:3] == (
            False, "withdrawn", "cookie_banner"
        )


def test_keyboard_alone_customises_space_ticks_analytics_and_enter_saves_it(
    visitor: Any, shop: Shop
) -> None:
    page = open_shop_page(visitor, shop)
    tab_to(page, shop.text("customise"))
    page.keyboard.press("Enter")
    analytics = page.locator("#ledger-category-analytics")
    analytics.wait_for(state="visible")

    # Escape leaves the customise layer and records nothing; Enter on Customise opens it again.
    page.keyboard.press("Escape")
    analytics.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement.textContent") == shop.text("customise")
    page.keyboard.press("Enter")
    analytics.wait_for(state="visible")

    # The focus went to the first box that can be changed: analytics.
    assert analytics.evaluate("box => document.activeElement === box")
    page.keyboard.press("Space")
    assert analytics.is_checked()
    tab_to(page, shop.text("save"))
    receipt, position, _ = choose(page, lambda: page.keyboard.press("Enter"))

    assert shop.recorded(receipt, position, "analytics_cookies")[:3] == (
        True, "given", "cookie_banner"
    )
    assert shop.recorded(receipt, position, "tracking_cookies")[:3] == (
        False, "withdrawn", "cookie_banner"
    )
    # The Escape before recorded nothing: one choice, one event.
    assert len(consent_events(page)) == 1


def test_a_browser_that_turns_on_gpc_after_accepting_tracking_is_asked_again(
    visitor: Any, shop: Shop
) -> None:
    """A kept "yes" to tracking does not outlive the browser's Global Privacy Control: the
    banner shows again, and the next choice records the refusal with method gpc."""
    page = open_shop_page(visitor, shop)
    choose(page, lambda: page.get_by_role("button", name=shop.text("accept_all")).click())

    visitor.set_extra_http_headers({"Sec-GPC": "1"})
    page.reload()

    page.locator(f"{BANNER} .ledger-gpc").wait_for(state="visible")
    receipt, position, _ = choose(
        page, lambda: page.get_by_role("button", name=shop.text("accept_all")).click()
    )
    assert shop.recorded(receipt, position, "tracking_cookies")[:3] == (False, "withdrawn", "gpc")
