"""A website that embeds the consent banner: its public key, the origins its pages are served
from, its tenant, the notice version its visitors choose under, and its own texts.

A site is registered by an officer and kept in a table of the API's (projections/storage/
banner_sites.py), like the vendor's systems: it is configuration, not a recorded fact. What is
recorded is each choice made on it (domain/visitor.py). The rules of its description live here:
an origin is exactly what a browser sends in `Origin` (`scheme://host[:port]`), and the texts are
plain text in the banner's own languages, under the banner's own keys.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from domain import values
from domain.errors import InvalidInput

MAX_ORIGINS = 20
MAX_TEXT = 500
LANGUAGES = ("en", "nl")
# Every text the banner shows (api/banner/texts.py holds the defaults of each).
TEXT_KEYS = (
    "title", "intro", "necessary", "necessary_detail", "analytics", "analytics_detail",
    "tracking", "tracking_detail", "accept_all", "reject_all", "save", "customise", "close",
    "gpc_note", "privacy_link", "saved",
)
KEY_PREFIX = "site_"
SITE_KEY = re.compile(r"site_[A-Za-z0-9_-]{22}")
_HOST = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
    r"|[0-9a-f.]*:[0-9a-f:.]*"  # an IPv6 address (urlsplit drops its brackets)
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
# The script inserts the texts as text, never as HTML; markup in one is a mistake, refused.
_NOT_PLAIN = re.compile(r"[<>\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class BannerSite:
    id: UUID
    key: str
    name: str
    origins: tuple[str, ...]
    tenant_id: UUID | None
    notice_version: str
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> key -> text

    def allows(self, origin: str | None) -> bool:
        """Whether a request with this `Origin` header comes from one of the site's pages."""
        return origin is not None and origin.lower() in self.origins


def new_key() -> str:
    """A public identifier embedded in the vendor's pages (not a secret): 22 url-safe
    characters, 132 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(16)[:22]


def name(value: Any) -> str:
    return values.text("name", value, max_length=200) or ""


def notice_version(value: Any) -> str:
    return values.text("notice_version", value, max_length=100) or ""


def origins(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidInput(
            "origins", "origins must list at least one origin, e.g. https://shop.example"
        )
    if len(value) > MAX_ORIGINS:
        raise InvalidInput("origins", f"origins holds at most {MAX_ORIGINS} origins")
    return tuple(dict.fromkeys(origin(item) for item in value))


def origin(value: Any) -> str:
    """The origin as a browser sends it: lower case, without the scheme's default port."""
    refused = InvalidInput(
        "origins", f"{value!r} is not an origin: give scheme://host[:port] with http or https, "
        "no path, query or fragment",
    )
    if not isinstance(value, str) or len(value) > 300:
        raise refused
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise refused from None
    host = (parts.hostname or "").lower()
    if (
        parts.scheme.lower() not in _DEFAULT_PORTS or not _HOST.fullmatch(host) or parts.path
        or parts.query or parts.fragment or parts.username is not None or "?" in value
        or "#" in value
    ):
        raise refused
    scheme = parts.scheme.lower()
    if ":" in host:
        host = f"[{host.strip('[]')}]"
    shown_port = "" if port is None or port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{host}{shown_port}"


def texts(value: Any) -> dict[str, dict[str, str]]:
    """A site's own texts, overriding the defaults: per language, per known key, plain text."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("texts", "texts must map a language (en, nl) to its texts")
    found: dict[str, dict[str, str]] = {}
    for language, given in value.items():
        if language not in LANGUAGES:
            raise InvalidInput("texts", f"texts: {language!r} is not a language of the banner "
                               f"(only {', '.join(LANGUAGES)})")
        if not isinstance(given, dict):
            raise InvalidInput(f"texts.{language}", "must map a text's key to the text")
        for key, text in given.items():
            where = f"texts.{language}.{key}"
            if key not in TEXT_KEYS:
                raise InvalidInput(where, f"{key!r} is not a text of the banner (known: "
                                   f"{', '.join(TEXT_KEYS)})")
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(where, "must be non-empty text")
            if len(text) > MAX_TEXT:
                raise InvalidInput(where, f"is longer than {MAX_TEXT} characters")
            if _NOT_PLAIN.search(text):
                raise InvalidInput(where, "must be plain text: no < or > (no HTML) and no "
                                   "control characters")
        found[language] = dict(given)
    return found
