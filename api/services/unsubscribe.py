"""One-click unsubscribe links (RFC 8058): signed, bound to one subject and one purpose.

A token is base64url(payload ‖ tag): the payload is a version byte, the subject's UUID
(16 bytes), the purpose and the optional channel as ASCII separated by a zero byte; the
tag is the first 16 bytes of HMAC-SHA256 over the payload. The HMAC key is derived from
the master key with HKDF, so it is never a key used for anything else. Links do not
expire: withdrawing must stay as easy as giving. Every way a link can be wrong, forged,
altered or belonging to an erased person, answers the same NotFound, so a link reveals
nothing about who exists.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from hashlib import sha256
from html import escape
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from domain import values
from domain.ledger import Ledger, Outcome
from domain.errors import InvalidInput, NotFound, SubjectErased
from domain.subject import Subject
from domain.vocabulary import ConsentMethod

from api.settings import Settings

VERSION = 1
TAG_BYTES = 16
HKDF_INFO = b"compliance-ledger/unsubscribe-links/v1"
PATH = "/v1/unsubscribe/"
ACTOR = "unsubscribe-link"


class UnsubscribeLinkInvalid(NotFound):
    def __init__(self) -> None:
        super().__init__("this unsubscribe link is not valid")


def derive_secret(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(master_key)


def unsubscribe_secret(keys: Any) -> bytes:
    """The links' HMAC key, derived from the key store's derivation root (which every epoch
    close re-wraps and keeps, so links already mailed keep working)."""
    return derive_secret(keys.derivation_root())


def _tag(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, sha256).digest()[:TAG_BYTES]


def mint_token(secret: bytes, subject_id: UUID, purpose: str, channel: str | None = None) -> str:
    purpose = values.purpose(purpose).value
    if channel is not None:
        channel = values.choice("channel", values.Channel, channel).value
    payload = (bytes([VERSION]) + subject_id.bytes + purpose.encode() + b"\0"
               + (channel or "").encode())
    return base64.urlsafe_b64encode(payload + _tag(secret, payload)).rstrip(b"=").decode()


def mint_unsubscribe_url(
    settings: Settings, secret: bytes, subject_id: UUID, purpose: str, channel: str | None = None
) -> str:
    return settings.public_url.rstrip("/") + PATH + mint_token(secret, subject_id, purpose, channel)


def read_unsubscribe_token(secret: bytes, token: str) -> tuple[UUID, str, str | None]:
    """(subject id, purpose, channel) of a genuine token; UnsubscribeLinkInvalid otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise UnsubscribeLinkInvalid() from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise UnsubscribeLinkInvalid()  # one token per link: no spare bits to play with
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if len(payload) < 18 or not hmac.compare_digest(tag, _tag(secret, payload)):
        raise UnsubscribeLinkInvalid()
    if payload[0] != VERSION or b"\0" not in payload[17:]:
        raise UnsubscribeLinkInvalid()
    purpose_raw, _, channel_raw = payload[17:].partition(b"\0")
    try:
        purpose = values.purpose(purpose_raw.decode()).value
        channel = channel_raw.decode() or None
        if channel is not None:
            channel = values.choice("channel", values.Channel, channel).value
    except (InvalidInput, UnicodeDecodeError):
        raise UnsubscribeLinkInvalid() from None  # signed by us, but naming what no longer exists
    return UUID(bytes=payload[1:17]), purpose, channel


def ensure_link_alive(ledger: Ledger, subject_id: UUID) -> Subject:
    """The subject a genuine link names, or UnsubscribeLinkInvalid when they are unknown,
    erased, or their tenant was purged (no key left): a dead link looks like a forged one."""
    try:
        subject = ledger.subject(subject_id)
    except NotFound:
        raise UnsubscribeLinkInvalid() from None
    if subject.erased or ledger.keys.get(subject_id) is None:
        raise UnsubscribeLinkInvalid()
    return subject


def unsubscribe(
    ledger: Ledger, subject_id: UUID, purpose: str, channel: str | None = None
) -> Outcome | None:
    """Withdraws the consent, recording that it came through the link. None when there is
    nothing to withdraw (never given, or withdrawn already), so a second click adds no
    event. An erased subject, or one whose tenant was purged, makes the link invalid."""
    purpose = values.purpose(purpose).value
    ensure_link_alive(ledger, subject_id)

    try:
        return ledger.withdraw_consent_if_given(
            subject_id, purpose, ConsentMethod.UNSUBSCRIBE_LINK.value, ACTOR, channel
        )
    except SubjectErased:
        raise UnsubscribeLinkInvalid() from None  # erased between the check and the withdrawal


def unsubscribe_with_token(
    ledger: Ledger, secret: bytes, token: str
) -> tuple[str, Outcome | None]:
    """The whole one-click POST: (purpose, outcome or None when already unsubscribed)."""
    subject_id, purpose, channel = read_unsubscribe_token(secret, token)
    return purpose, unsubscribe(ledger, subject_id, purpose, channel)


def list_unsubscribe_headers(url: str) -> dict[str, str]:
    """The mail headers RFC 8058 asks for, so mail clients can offer one-click unsubscribe."""
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


PURPOSE_NAMES = {
    "info_mail": "information mail", "product_mail": "product mail", "blog_mail": "blog mail",
    "analytics_cookies": "analytics cookies", "tracking_cookies": "tracking cookies",
    "profiling": "profiling", "third_party_marketing": "marketing by third parties",
    "market_research": "market research",
}


def confirmation_page(token: str, purpose: str, done: bool) -> str:
    """GET shows this page and changes nothing (RFC 8058: mail scanners follow links); its
    button POSTs the one-click form. After the POST, `done=True` says it is done."""
    what = escape(PURPOSE_NAMES.get(purpose, purpose))
    if done:
        body = f"<h1>You are unsubscribed</h1><p>You will no longer receive {what}.</p>"
    else:
        body = (
            f"<h1>Unsubscribe</h1><p>Stop receiving {what}?</p>"
            f'<form method="post" action="{escape(PATH + token)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Unsubscribe</title></head><body>{body}</body></html>"
    )
