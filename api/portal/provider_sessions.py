"""A portal session started at the customer's OpenID Provider lasts only while the provider
still stands behind it (docs/identity.md).

On every portal request such a session is checked: when the provider no longer publishes the
key that signed its ID token (a rotation after a compromise), it ends at once; every
`LEDGER_OIDC_SESSION_CHECK_SECONDS` the portal refreshes its tokens, and a provider that
refuses (the account disabled, the grant revoked) ends it. A provider that cannot be reached
ends nothing: the session goes on and is checked again shortly, so an outage of the provider
does not log every customer out. Without a refresh token the session simply ends when the ID
token expires.

The provider's tokens are kept sealed (api/portal/login_links.py `seal`), bound to their
session, so a copy of the database neither reads nor moves them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
import jwt
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import OAuth2Client

from domain.vocabulary import Role

from api.http.callers import BadToken, KeysNeeded, ProviderUnreachable
from api.http.claims import ClaimMapping
from api.http.provider_keys import FETCH_TIMEOUT_SECONDS, ProviderKeys
from api.http.provider_tokens import ProviderTokenVerifier
from api.portal.login_links import seal, unseal
from api.settings import Settings
from projections.storage.portal_sessions import PortalSession, digest
from projections.storage.portal_sign_ins import ProviderSession, SignInStore

log = logging.getLogger(__name__)

SEALED_TOKENS = b"ledger portal provider tokens v1"
# How soon a check the provider could not answer is tried again (or sooner: the check interval).
RETRY_SECONDS = 5

KEY_WITHDRAWN = "key-withdrawn"
REFUSED = "provider-refused"
CHANGED = "account-changed"
ENDED_NOTICES = {
    KEY_WITHDRAWN: "Your session has ended: your organisation's sign-in service no longer "
    "publishes the key your sign-in was made with. Please sign in again.",
    REFUSED: "Your session has ended: your organisation's sign-in service no longer accepts "
    "it (your account may have been disabled or signed out). Sign in again if you may.",
    CHANGED: "Your session has ended: your organisation's sign-in service now describes your "
    "account differently (its role or tenant changed). Please sign in again.",
}


@dataclass(frozen=True)
class PortalClient:
    """The portal as a client of the provider customers sign in with (`settings.portal_issuer`)."""

    settings: Settings
    verifier: ProviderTokenVerifier

    @property
    def issuer(self) -> str:
        assert self.settings.portal_issuer is not None  # only made when there is one
        return self.settings.portal_issuer

    @property
    def client_id(self) -> str:
        assert self.settings.oidc_portal_client_id is not None
        return self.settings.oidc_portal_client_id

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + "/portal/login/callback"

    def keys(self, issuer: str | None = None) -> ProviderKeys:
        return self.verifier.provider(issuer or self.issuer)

    def metadata(self) -> dict[str, Any]:
        """The provider's endpoints (ProviderUnreachable when it never answered)."""
        return self.keys().metadata(may_fetch=True)  # portal pages run in worker threads

    def oauth(self) -> OAuth2Client:
        secret = self.settings.oidc_portal_client_secret
        return OAuth2Client(
            self.client_id, secret.get_secret_value() if secret else None,
            scope=self.settings.oidc_portal_scopes, redirect_uri=self.redirect_uri,
            code_challenge_method="S256", timeout=FETCH_TIMEOUT_SECONDS,
        )

    def id_token_claims(self, id_token: str) -> tuple[dict[str, Any], str]:
        """The verified claims of an ID token for this client, and the id of its key."""
        claims, _ = self.verifier.claims(id_token, may_fetch=True, audience=self.client_id)
        if claims.get("iss") != self.issuer:
            raise BadToken("the ID token was issued by another provider than the portal's")
        if not isinstance(claims.get("sub"), str):
            raise BadToken("the ID token names nobody (no 'sub')")
        kid = jwt.get_unverified_header(id_token).get("kid")  # its signature checked just now
        return claims, kid if isinstance(kid, str) else ""

    # Sealed bound to the session's digest: a sealed token moved to another row does not open.
    def seal(self, session_digest: str, token: str | None) -> str | None:
        if token is None:
            return None
        return seal(self.settings, SEALED_TOKENS, token.encode(), session_digest.encode())

    def unseal(self, session_digest: str, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        return unseal(self.settings, SEALED_TOKENS, sealed, session_digest.encode()).decode()


@dataclass(frozen=True)
class ProviderSessions:
    client: PortalClient
    store: SignInStore

    def check(self, session_id: str, session: PortalSession) -> bool:
        """Whether the session may go on; when not, it has been ended with the reason."""
        found = self.store.find(session_id)
        if found is None:
            return True  # started otherwise (before the portal signed in with a provider)
        why = self._why_ended(session_id, session, found)
        if why is None:
            return True
        log.info("a portal session ended at the provider's word: %s", why)
        self.store.end(session_id, why)
        return False

    def _why_ended(
        self, session_id: str, session: PortalSession, found: ProviderSession,
    ) -> str | None:
        keys = self.client.keys(found.issuer)
        try:
            keys.metadata(may_fetch=True)  # fetches the keys again once the cache runs out
        except (ProviderUnreachable, KeysNeeded):
            return None  # never reached since this process started: nothing to go by
        if found.kid and not keys.knows(found.kid):  # a token without kid: its provider's one key
            return KEY_WITHDRAWN
        now = time.time()
        if now < found.check_at or found.sealed_refresh_token is None:
            return None
        pause = min(RETRY_SECONDS, self.client.settings.oidc_session_check_seconds)
        if not self.store.claim_check(session_id, found.check_at, int(now + pause)):
            return None  # another request is asking the provider right now
        return self._refresh(session_id, session, found)

    def _refresh(
        self, session_id: str, session: PortalSession, found: ProviderSession,
    ) -> str | None:
        bound = digest(session_id)
        try:
            refresh_token = self.client.unseal(bound, found.sealed_refresh_token)
        except ValueError:
            return REFUSED  # sealed under an auth secret since replaced: nothing to refresh with
        try:
            with self.client.oauth() as oauth:
                token = oauth.refresh_token(
                    self.client.metadata()["token_endpoint"], refresh_token=refresh_token
                )
        except OAuthError as error:
            log.info("the provider refused to refresh a portal session: %s", error.error)
            return REFUSED
        except (httpx2.HTTPError, ProviderUnreachable, KeyError, ValueError) as error:
            log.warning("could not check a portal session with the provider: %s", error)
            return None  # checked again after RETRY_SECONDS
        id_token = token.get("id_token") or self.client.unseal(bound, found.sealed_id_token)
        kid = found.kid
        if token.get("id_token"):
            try:
                claims, kid = self.client.id_token_claims(str(id_token))
                caller = ClaimMapping.from_settings(self.client.settings).caller(claims)
            except BadToken:
                return CHANGED
            except (ProviderUnreachable, KeysNeeded):
                return None
            if (claims["sub"] != found.subject or caller.role is not Role.CUSTOMER
                    or caller.tenant != session.tenant_id):
                return CHANGED
        self.store.checked(
            session_id, kid, self.client.seal(bound, id_token),
            self.client.seal(bound, token.get("refresh_token") or refresh_token),
            time.time() + self.client.settings.oidc_session_check_seconds,
        )
        return None

    def logout_url(self, session_id: str) -> str | None:
        """Where the browser signs out at the provider too (RP-Initiated Logout 1.0); None when
        the provider has no such endpoint or the session was not started there."""
        found = self.store.find(session_id)
        if found is None:
            return None
        try:
            endpoint = self.client.metadata().get("end_session_endpoint")
            id_token = self.client.unseal(digest(session_id), found.sealed_id_token)
        except (ProviderUnreachable, ValueError):
            return None
        if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
            return None
        query = {
            "client_id": self.client.client_id,
            "post_logout_redirect_uri":
                self.client.settings.public_url.rstrip("/") + "/portal/login?notice=logged-out",
        }
        if id_token:
            query["id_token_hint"] = id_token
        separator = "&" if "?" in endpoint else "?"
        return endpoint + separator + urlencode(query)
