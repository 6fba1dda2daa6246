"""Signing in to the portal at the customer's OpenID Provider: the authorization code flow with
PKCE (OpenID Connect Core 1.0 §3.1, RFC 7636), the portal being a confidential client.

`/portal/login/provider` remembers a pending sign-in server-side (state, nonce, PKCE verifier;
projections/storage/portal_sign_ins.py) under a random id in a cookie of this browser, and
sends the browser to the provider. `/portal/login/callback` takes that pending sign-in (once:
a replayed answer finds none), checks the answer's `state` and issuer, redeems the code,
verifies the ID token (signature, issuer, audience = the portal's client id, expiry, nonce)
and maps its claims with the API's one rule (api/http/claims.py). Only a customer with a
tenant gets a session; its provider session is then checked on every request
(api/portal/provider_sessions.py).
"""

from __future__ import annotations

import hmac
import secrets
import time

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from domain.vocabulary import Role

from api.http.callers import BadToken, KeysNeeded, ProviderUnreachable
from api.http.claims import ClaimMapping
from api.portal.login import LONGEST_SESSION_SECONDS, login_form, not_for_role
from api.portal.provider_sessions import ProviderSessions
from api.portal.render import page_router, render, see_other
from api.portal.services import PortalServices, ServicesDep
from api.portal.session import (
    SIGN_IN_SECONDS,
    clear_login_csrf_cookie,
    clear_sign_in_cookie,
    is_secure,
    session_id_of,
    set_session_cookie,
    set_sign_in_cookie,
    sign_in_id_of,
)
from projections.storage.portal_sign_ins import PendingSignIn, ProviderSession

router = page_router()

UNREACHABLE = (
    "Your organisation's sign-in service cannot be reached just now, so nobody can sign in. "
    "Please try again in a few minutes."
)


def _no_provider(request: Request) -> HTMLResponse:
    return render(
        request, "portal/refused.html", 404,
        error="This portal does not sign in through an identity provider; log in with your "
        "access token instead.",
    )


@router.get("/login/provider", response_class=HTMLResponse)
def sign_in_at_provider(request: Request, services: ServicesDep) -> Response:
    provider = services.provider
    if provider is None:
        return _no_provider(request)
    client = provider.client
    try:
        endpoint = client.metadata()["authorization_endpoint"]
    except (ProviderUnreachable, KeyError):
        return login_form(request, services, 503, error=UNREACHABLE)
    pending = PendingSignIn(
        state=generate_token(), nonce=generate_token(), code_verifier=generate_token(64)
    )
    with client.oauth() as oauth:
        url, _ = oauth.create_authorization_url(
            endpoint, state=pending.state, nonce=pending.nonce, code_verifier=pending.code_verifier,
        )
    browser_id = secrets.token_urlsafe(32)
    provider.store.begin(browser_id, pending, time.time() + SIGN_IN_SECONDS)
    response = see_other(url)
    set_sign_in_cookie(response, browser_id, is_secure(request, services.settings.public_url))
    return response


@router.get("/login/callback", response_class=HTMLResponse)
def provider_answered(
    request: Request, services: ServicesDep, code: str | None = None, state: str | None = None,
    iss: str | None = None, error: str | None = None, error_description: str | None = None,
    error_uri: str | None = None, session_state: str | None = None,
) -> Response:
    provider = services.provider
    if provider is None:
        return _no_provider(request)
    secure = is_secure(request, services.settings.public_url)
    # Taken and deleted at once: this answer, or a copy of it, is never used twice.
    pending = provider.store.take(sign_in_id_of(request))
    outcome = _outcome(request, services, provider, pending, code, state, iss, error,
                       error_description)
    clear_sign_in_cookie(outcome, secure)
    return outcome


def _outcome(
    request: Request, services: PortalServices, provider: ProviderSessions,
    pending: PendingSignIn | None, code: str | None, state: str | None, iss: str | None,
    error: str | None, error_description: str | None,
) -> Response:
    def refuse(status: int, why: str) -> HTMLResponse:
        return login_form(request, services, status, error=why)

    client = provider.client
    if pending is None:
        return refuse(400, "This sign-in was not started in this browser, took longer than "
                      f"{SIGN_IN_SECONDS // 60} minutes, or was finished already. "
                      "Please sign in again.")
    if not state or not hmac.compare_digest(state.encode(), pending.state.encode()):
        return refuse(400, "The answer from the sign-in service does not belong to the sign-in "
                      "this browser started, so it was not used. Please sign in again.")
    if iss is not None and iss != client.issuer:  # RFC 9207: an answer from another provider
        return refuse(400, "The answer came from another sign-in service than this portal's.")
    if error is not None or not code:
        said = ": ".join(part for part in (error, error_description) if part) or "no code"
        return refuse(400, f"The sign-in service refused the sign-in: {said[:300]}.")
    try:
        with client.oauth() as oauth:
            token = oauth.fetch_token(
                client.metadata()["token_endpoint"], code=code,
                code_verifier=pending.code_verifier, redirect_uri=client.redirect_uri,
            )
    except OAuthError as refused:
        said = ": ".join(p for p in (refused.error, refused.description) if p)
        return refuse(400, f"The sign-in service refused the sign-in: {said[:300]}.")
    except (httpx2.HTTPError, ProviderUnreachable, KeyError, ValueError):
        return refuse(503, UNREACHABLE)
    id_token = token.get("id_token")
    try:
        if not isinstance(id_token, str):
            raise BadToken("the sign-in service sent no ID token (is 'openid' among the scopes?)")
        claims, kid = client.id_token_claims(id_token)
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), pending.nonce.encode()):
            raise BadToken("the ID token is not for the sign-in this browser started (nonce)")
        caller = ClaimMapping.from_settings(services.settings).caller(claims)
    except (ProviderUnreachable, KeysNeeded):
        return refuse(503, UNREACHABLE)
    except BadToken as bad:
        return refuse(401, f"Your sign-in cannot log you in here: {bad.detail}.")
    if caller.role is not Role.CUSTOMER or caller.tenant is None:
        return refuse(403, not_for_role(caller.role.value))
    now = time.time()
    refresh_token = token.get("refresh_token")
    # With a refresh token the provider is asked again every check; without, the ID token's
    # own end is the session's.
    expires_at = now + LONGEST_SESSION_SECONDS if refresh_token else float(claims["exp"])
    expires_at = min(expires_at, now + LONGEST_SESSION_SECONDS)

    def provider_session(session_digest: str) -> ProviderSession:
        return ProviderSession(
            issuer=client.issuer, subject=str(claims["sub"]), kid=kid,
            sealed_id_token=client.seal(session_digest, id_token),
            sealed_refresh_token=client.seal(session_digest, refresh_token),
            check_at=int(now + services.settings.oidc_session_check_seconds), ended=None,
        )

    old = session_id_of(request)
    if old:
        provider.store.end(old)  # never carry an old session over a sign-in
    session_id = provider.store.start_session(
        services.sessions, caller.actor, caller.tenant, expires_at, provider_session
    )
    # The session cookie is SameSite=Strict: a redirect chain that began at the provider
    # would not carry it, so the browser moves on to the portal from a page of our own.
    response = render(request, "portal/continue.html", url="/portal",
                      message="You are signed in. Opening the portal…")
    secure = is_secure(request, services.settings.public_url)
    set_session_cookie(response, session_id, expires_at, secure)
    clear_login_csrf_cookie(response, secure)
    return response
