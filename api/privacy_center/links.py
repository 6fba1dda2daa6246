"""The privacy center's one-time sign-in link: the address it was asked for, a random link id,
its expiry and the page's language, sealed (AES-GCM, api/portal/login_links.py `seal`) under a
purpose of its own, so a portal login link cannot pass for one, nor the other way round.

Sealed rather than signed: the address is not readable from the URL (a proxy log, the
browser's history). The link itself is never stored; only its id, once spent
(projections/storage/privacy_center_sessions.py). Its expiry is on the ledger's clock.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from api.portal.login_links import MAX_LINK_CHARS, seal, unseal
from api.settings import Settings

PURPOSE = b"ledger privacy center link v1"
OPEN_PATH = "/privacy-center/open"


class LinkRefused(Exception):
    """The link is forged, altered or malformed (`why="invalid"`), or has expired."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class CenterLink:
    email: str
    link_id: str
    expires_at: int  # unix seconds, on the ledger's clock
    language: str


def mint(settings: Settings, email: str, language: str, now: float) -> tuple[str, int]:
    """The URL of a new link for `email`, and when it expires."""
    expires_at = int(now) + settings.privacy_center_link_minutes * 60
    payload = json.dumps(
        {"e": email, "id": secrets.token_urlsafe(16), "exp": expires_at, "l": language},
        separators=(",", ":"),
    ).encode()
    query = urlencode({"link": seal(settings, PURPOSE, payload), "lang": language})
    return f"{settings.public_url.rstrip('/')}{OPEN_PATH}?{query}", expires_at


def open_link(settings: Settings, link: str | None, now: float) -> CenterLink:
    """What a genuine, current link carries; LinkRefused otherwise."""
    if not link or len(link) > MAX_LINK_CHARS:
        raise LinkRefused("invalid")
    try:
        payload = json.loads(unseal(settings, PURPOSE, link))
        opened = CenterLink(
            str(payload["e"]), str(payload["id"]), int(payload["exp"]), str(payload["l"])
        )
    except (ValueError, KeyError, TypeError):
        raise LinkRefused("invalid") from None
    if opened.expires_at <= now:
        raise LinkRefused("expired")
    return opened
