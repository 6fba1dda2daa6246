"""What a site that embeds the banner may be described as: origins exactly as a browser sends
them, and the banner's own texts in its own languages, as plain text."""

from __future__ import annotations

from uuid import uuid4

import pytest

from api.banner.texts import DEFAULTS, merged
from domain import banner_site
from domain.banner_site import LANGUAGES, TEXT_KEYS, BannerSite
from domain.errors import InvalidInput


@pytest.mark.parametrize(("given", "kept"), [
    ("https://shop.example", "https://shop.example"),
    ("HTTPS://Shop.Example:443", "https://shop.example"),
    ("http://shop.example:80", "http://shop.example"),
    ("http://localhost:8080", "http://localhost:8080"),
    ("https://[::1]:8443", "https://[::1]:8443"),
])
def test_an_origin_is_kept_as_a_browser_sends_it(given: str, kept: str) -> None:
    assert banner_site.origin(given) == kept


@pytest.mark.parametrize("given", [
    "https://shop.example/", "https://shop.example/cart", "https://shop.example?x",
    "https://shop.example#top",
    "ftp://shop.example", "javascript:alert(1)", "https://user@shop.example", "shop.example",
    "https://shop_example.com", "https://shop.example:99999", "", 7,
])
def test_anything_but_an_origin_is_refused_naming_origins(given: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        banner_site.origins([given])
    assert refused.value.field == "origins"


def test_a_site_allows_only_its_own_origins() -> None:
    site = BannerSite(uuid4(), banner_site.new_key(), "Shop", ("https://shop.example",), None, "1")
    assert site.allows("https://shop.example") and site.allows("HTTPS://SHOP.EXAMPLE")
    assert not site.allows("https://shop.example.evil.example")
    assert not site.allows("null") and not site.allows(None)
    assert banner_site.SITE_KEY.fullmatch(site.key)


@pytest.mark.parametrize(("texts", "field"), [
    ({"fr": {"title": "Cookies"}}, "texts"),
    ({"en": {"headline": "Cookies"}}, "texts.en.headline"),
    ({"en": {"title": "<script>alert(1)</script>"}}, "texts.en.title"),
    ({"nl": {"intro": "x" * 501}}, "texts.nl.intro"),
    ({"nl": {"intro": "  "}}, "texts.nl.intro"),
    ({"en": "Cookies"}, "texts.en"),
])
def test_texts_are_the_banners_own_keys_in_plain_text(texts: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        banner_site.texts(texts)
    assert refused.value.field == field


def test_every_default_text_exists_in_both_languages_and_a_site_overrides_one() -> None:
    for language in LANGUAGES:
        assert tuple(DEFAULTS[language]) == TEXT_KEYS
    shown = merged(banner_site.texts({"nl": {"title": "Koekjes"}}))
    assert shown["nl"]["title"] == "Koekjes"
    assert shown["nl"]["reject_all"] == DEFAULTS["nl"]["reject_all"]
    assert shown["en"] == DEFAULTS["en"]
