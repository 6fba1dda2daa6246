"""The one-click unsubscribe link (RFC 8058): the one write anybody may make without a token.

The token in the path is the authority: it is signed (HMAC, a key derived from the master
key), so it cannot be guessed or altered, and it names one subject and one purpose. That is
also why the POST is safe against cross-site request forgery by design: a forged request
must already hold the unguessable link, and whoever holds it may unsubscribe anyway. There
is no session or cookie for another site to ride on.

GET never changes anything (mail scanners follow links): it shows a page whose button POSTs.
Every way a link can be wrong (forged, altered, unknown subject, erased, tenant purged)
answers the same 404, so a link reveals nothing about who exists.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse

from api.http.deps import LedgerDep, SettingsDep
from api.http.query_parameters import StrictQueryRoute
from api.http.problems import documented
from api.services.unsubscribe import (
    PATH,
    UnsubscribeLinkInvalid,
    confirmation_page,
    ensure_link_alive,
    read_unsubscribe_token,
    unsubscribe_secret,
    unsubscribe_with_token,
)

router = APIRouter(
    prefix=PATH.rstrip("/"), tags=["unsubscribe (no login)"], route_class=StrictQueryRoute
)
# Far longer than any token minted (about 60 characters): the rest is not even decoded.
MAX_TOKEN = 512
# The link is a secret: no cache keeps the page, no Referer carries it off, no index lists it.
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
HTML = {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}
Token = Annotated[str, Path(description="the token of the link, as minted")]


def _checked(token: str) -> str:
    if len(token) > MAX_TOKEN:
        raise UnsubscribeLinkInvalid()
    return token


@router.get("/{token}", response_class=HTMLResponse, responses={**HTML, **documented(404)})
def unsubscribe_page(token: Token, ledger: LedgerDep, settings: SettingsDep) -> HTMLResponse:
    """A page with an Unsubscribe button; opening it withdraws nothing."""
    secret = unsubscribe_secret(ledger.keys)
    subject_id, purpose, _ = read_unsubscribe_token(secret, _checked(token))
    ensure_link_alive(ledger, subject_id)
    return HTMLResponse(confirmation_page(token, purpose, done=False), headers=PRIVATE)


@router.post("/{token}", response_class=HTMLResponse, responses={**HTML, **documented(404)})
def one_click_unsubscribe(token: Token, ledger: LedgerDep, settings: SettingsDep) -> HTMLResponse:
    """Withdraws the link's consent, with no login. The body (`List-Unsubscribe=One-Click`,
    form-encoded, as mail clients send it, or nothing) is not needed. Idempotent: a second
    POST, or one for a consent never given, records nothing and answers the same.
    `X-Ledger-Position` is set when a withdrawal was recorded."""
    secret = unsubscribe_secret(ledger.keys)
    purpose, outcome = unsubscribe_with_token(ledger, secret, _checked(token))
    headers = dict(PRIVATE)
    if outcome is not None:
        headers["X-Ledger-Position"] = str(outcome.position)
    return HTMLResponse(confirmation_page(token, purpose, done=True), headers=headers)
