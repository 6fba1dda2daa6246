"""An OpenID Provider's signing keys, as the ledger knows them: discovered from the issuer's
`/.well-known/openid-configuration`, fetched from its `jwks_uri`, and kept for
`LEDGER_OIDC_KEYS_CACHE_SECONDS` (docs/identity.md says what is checked when).

A key rotation needs no restart: a token signed with a key id not yet known makes the keys be
fetched again, at most once per `LEDGER_OIDC_KEYS_REFETCH_SECONDS`, so a stream of tokens with
made-up key ids costs the provider and the ledger one fetch per interval, not one per request.
A removed key is refused once the keys are next fetched: at most the cache time after removal,
while the provider answers. When it does not, the keys last fetched stay in use (and each
retry is logged): an outage of the provider does not lock out every caller.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
import jwt

from api.http.callers import BadToken, KeysNeeded, ProviderUnreachable

log = logging.getLogger(__name__)

# The algorithms a provider's key may declare; a token must use its key's own.
ALGORITHMS = ("RS256", "ES256", "EdDSA")
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_KEYS = 100
FETCH_TIMEOUT_SECONDS = 5.0


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def fetch_json(url: str) -> dict[str, Any]:
    """A JSON object from the provider, bounded in size and time; ProviderUnreachable else."""
    try:
        with httpx2.Client(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as client:
            with client.stream("GET", url, headers={"Accept": "application/json"}) as answer:
                if answer.status_code != 200:
                    raise ValueError(f"{url} answered {answer.status_code}")
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ValueError(f"{url} sent more than {MAX_DOCUMENT_BYTES} bytes")
        document = json.loads(body)
    except (httpx2.HTTPError, ValueError) as error:
        raise ProviderUnreachable(url, str(error) or type(error).__name__) from None
    if not isinstance(document, dict):
        raise ProviderUnreachable(url, "the answer is not a JSON object")
    return document


def usable_keys(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The signing keys of a JWK set by key id, each pinned to its one algorithm."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in list(jwks.get("keys") or [])[:MAX_KEYS]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a key of a kind the ledger does not take (RSA-OAEP, HS256, ...)
        if key.algorithm_name in ALGORITHMS:
            keys[str(entry.get("kid", ""))] = key
    return keys


@dataclass
class ProviderKeys:
    """One issuer's discovery document and keys, shared by every request of the process."""

    issuer: str
    cache_seconds: float
    refetch_seconds: float
    clock: Any = time.monotonic
    fetches: int = 0  # attempts so far: what a flood of unknown key ids costs the provider
    _metadata: dict[str, Any] = field(default_factory=dict, repr=False)
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, repr=False)
    _fetched_at: float | None = field(default=None, repr=False)
    _tried_at: float | None = field(default=None, repr=False)
    _finished_at: float | None = field(default=None, repr=False)
    _failure: ProviderUnreachable | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fresh_until(self) -> float:
        """When the keys in hand are due to be fetched again (the clock's time)."""
        return (self._fetched_at or float("-inf")) + self.cache_seconds

    def metadata(self, *, may_fetch: bool = True) -> dict[str, Any]:
        """The provider's discovery document (endpoints for the portal's sign-in)."""
        self._ensure(may_fetch)
        return self._metadata

    def knows(self, kid: str) -> bool:
        """Whether the provider still publishes this key (as of the keys in hand)."""
        return kid in self._keys

    def key(self, kid: str | None, algorithm: str, *, may_fetch: bool) -> jwt.PyJWK:
        """The key that signed a token with this header; BadToken when the provider does not
        publish it (after one fetch, when a fetch is allowed again)."""
        self._ensure(may_fetch)
        key = self._find(kid)
        if key is None:
            self._ensure(may_fetch, unknown_key=True)
            key = self._find(kid)
        if key is None:
            raise BadToken(
                f"the token is signed with a key ({kid or 'no key id'}) that {self.issuer} "
                "does not publish"
            )
        if key.algorithm_name != algorithm:
            raise BadToken(f"the token says {algorithm}, but its key is for {key.algorithm_name}")
        return key

    def _find(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None:
            return self._keys.get(kid)
        # No key id: only unambiguous with a single key.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    def _ensure(self, may_fetch: bool, *, unknown_key: bool = False) -> None:
        now = self.clock()
        recently_tried = self._tried_at is not None and now - self._tried_at < self.refetch_seconds
        if self._fetched_at is None:
            if recently_tried and self._failure is not None:
                raise self._failure  # the provider failed a moment ago: not again per request
        elif now < self.fresh_until() and not unknown_key:
            return
        elif recently_tried:
            return  # stale or unknown, but asked a moment ago: what is in hand will do
        if not may_fetch:
            raise KeysNeeded(self.issuer)
        self._refresh(decided_at=now)

    def _refresh(self, decided_at: float) -> None:
        with self._lock:
            if self._finished_at is not None and self._finished_at >= decided_at:
                # Another thread fetched (or failed to) while this one waited for the lock.
                if self._fetched_at is None and self._failure is not None:
                    raise self._failure
                return
            self._tried_at = self.clock()
            self.fetches += 1
            try:
                metadata = fetch_json(discovery_url(self.issuer))
                if metadata.get("issuer") != self.issuer:
                    raise ProviderUnreachable(
                        self.issuer, f"its discovery document names the issuer "
                        f"{metadata.get('issuer')!r} (OpenID Connect Discovery 1.0 §4.3)",
                    )
                jwks_uri = metadata.get("jwks_uri")
                if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
                    raise ProviderUnreachable(self.issuer, "its discovery document has no jwks_uri")
                keys = usable_keys(fetch_json(jwks_uri))
            except ProviderUnreachable as error:
                self._failure, self._finished_at = error, self.clock()
                if self._fetched_at is None:
                    raise
                log.warning("keeping the last keys of %s: %s", self.issuer, error.detail)
                return
            self._metadata, self._keys, self._failure = metadata, keys, None
            self._fetched_at = self._finished_at = self.clock()
