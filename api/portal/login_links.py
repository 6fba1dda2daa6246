"""Login links: a customer admin follows a link instead of pasting a bearer token.

The link carries the customer's bearer token sealed with AES-GCM under a key derived from
the ledger's auth secret: it cannot be forged or altered, and whoever sees the URL (a proxy
log, the browser history) cannot read the token out of it to call the API. The link itself
expires after `ttl_seconds` (15 minutes by default) and can be used once: following it shows
a confirmation page whose button logs in, so a mail scanner that fetches the URL spends
nothing. At login the sealed token goes through the same checks as a pasted one.

`seal`/`unseal` are the portal's one way to keep a secret out of sight: the provider sign-in
keeps its tokens sealed by them too (api/portal/provider_sessions.py).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from api import keyfiles
from api.http.auth import Role
from api.settings import Settings

_PURPOSE = b"ledger portal login link v1"
MAX_LINK_CHARS = 8000


class InvalidLoginLink(Exception):
    """The link was altered, made with another secret, has expired or is malformed."""


@dataclass(frozen=True)
class LoginLink:
    token: str
    link_id: str
    expires_at: float


def _key(settings: Settings, purpose: bytes) -> AESGCM:
    # One key per purpose: a value sealed for one use cannot be passed off as another's.
    secret = keyfiles.auth_secret(settings).encode()
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=purpose).derive(secret))


def seal(settings: Settings, purpose: bytes, plaintext: bytes, bound_to: bytes = b"") -> str:
    """`plaintext` encrypted and authenticated (AES-GCM) under a key derived from the auth
    secret for `purpose`; opens only with the same `bound_to` (say, the row it is kept in)."""
    nonce = secrets.token_bytes(12)
    return _b64(nonce + _key(settings, purpose).encrypt(nonce, plaintext, purpose + bound_to))


def unseal(settings: Settings, purpose: bytes, sealed: str, bound_to: bytes = b"") -> bytes:
    """What `seal` sealed; ValueError when it was altered, sealed otherwise or is malformed."""
    try:
        raw = _unb64(sealed)
        return _key(settings, purpose).decrypt(raw[:12], raw[12:], purpose + bound_to)
    except (InvalidTag, ValueError, TypeError):
        raise ValueError("the sealed value is not genuine") from None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_login_link(settings: Settings, token: str, ttl_seconds: int = 900) -> str:
    """A URL under `settings.public_url` that logs the token's customer into the portal.

    Only customer tokens make sense here (the portal refuses every other role); the link
    never outlives the token.
    """
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    claims = jwt.decode(token, options={"verify_signature": False})
    if claims.get("role") != Role.CUSTOMER:
        raise ValueError("login links are for customer tokens only (role=customer)")
    expires_at = int(time.time()) + int(ttl_seconds)
    if isinstance(claims.get("exp"), int | float):
        expires_at = min(expires_at, int(claims["exp"]))
    payload = json.dumps(
        {"token": token, "exp": expires_at, "id": secrets.token_urlsafe(16)},
        separators=(",", ":"),
    ).encode()
    sealed = seal(settings, _PURPOSE, payload)
    return f"{settings.public_url.rstrip('/')}/portal/login?{urlencode({'link': sealed})}"


def open_login_link(settings: Settings, link: str, now: float | None = None) -> LoginLink:
    """The sealed token of a link minted by `mint_login_link`, if it is genuine and current."""
    if not link or len(link) > MAX_LINK_CHARS:
        raise InvalidLoginLink("the login link is malformed")
    try:
        payload = json.loads(unseal(settings, _PURPOSE, link))
        token, expires_at = str(payload["token"]), float(payload["exp"])
        link_id = str(payload["id"])
    except (ValueError, KeyError, TypeError):
        raise InvalidLoginLink(
            "this login link is not valid; ask for a new one"
        ) from None
    if expires_at <= (time.time() if now is None else now):
        raise InvalidLoginLink("this login link has expired; ask for a new one")
    return LoginLink(token=token, link_id=link_id, expires_at=expires_at)
