"""How the privacy center's pages are made and sent: the route class that gives every answer its
security headers, the rendering in the page's language, the cookies, and what a page asks
FastAPI for (`CenterDep`).

Plain HTML forms, no script: the Content-Security-Policy allows none. Every page is personal or
leads to what is, so none is cached or sends a Referer (the sign-in link must not leak to
another site). Cookies are HttpOnly, SameSite=Strict, scoped to /privacy-center, and Secure
over https (api/portal/session.py `is_secure`); they are not the portal's.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.http.problems import ProblemException
from api.http.query_parameters import StrictQueryRoute, UnknownQueryParameters
from api.http.rate_limits import SlidingWindow
from api.portal.render import templates
from api.portal.session import is_secure
from api.privacy_center import texts
from api.settings import Settings
from domain.ledger import Ledger
from projections.read_models.queries.contract import ReadSide
from projections.storage.privacy_center_sessions import CenterSession, CenterSessionStore

PATH = "/privacy-center"
SESSION_COOKIE = "ledger_privacy_center"
FORM_COOKIE = "ledger_privacy_center_form"  # the double-submit token of forms before a session
FORM_SECONDS = 3600
WINDOW_SECONDS = 15 * 60  # the sign-in limits' window (api/privacy_settings.py)
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class CenterRoute(StrictQueryRoute):
    """Adds the headers to every answer, and shows an unknown query parameter as a page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            try:
                response = await handler(request)
            except UnknownQueryParameters as error:
                lang = texts.language(None, request.headers.get("accept-language"))
                response = render(
                    request, lang, "privacy_center/message.html", 422,
                    error="unknown_parameter", names=", ".join(error.unknown),
                )
            for name, value in HEADERS.items():
                response.headers[name] = value
            return response

        return with_headers


@dataclass
class Limits:
    per_email: SlidingWindow
    per_address: SlidingWindow


@dataclass
class Center:
    settings: Settings
    ledger: Ledger
    reads: ReadSide
    sessions: CenterSessionStore
    container: Any
    limits: Limits

    def now(self) -> int:
        """Unix seconds on the ledger's clock: links and sessions expire by it."""
        return int(self.ledger.now().timestamp())

    def session(self, request: Request) -> CenterSession | None:
        return self.sessions.find(request.cookies.get(SESSION_COOKIE), self.now())


_limits_made = threading.Lock()


def _limits(request: Request, settings: Settings) -> Limits:
    # One pair of windows per app (not per module), so two apps in one process count apart.
    state = request.app.state
    with _limits_made:
        if getattr(state, "privacy_center_limits", None) is None:
            state.privacy_center_limits = Limits(
                SlidingWindow(settings.privacy_center_sign_ins_per_email, WINDOW_SECONDS),
                SlidingWindow(settings.privacy_center_sign_ins_per_address, WINDOW_SECONDS),
            )
        return state.privacy_center_limits


def center(request: Request) -> Center:
    """What every page is given: the app's ledger, read side and settings (as the portal's
    pages are, api/portal/services.py), the center's sessions and the sign-in limits."""
    state = request.app.state
    if state.read is None:
        raise ProblemException(
            503, "the read side is not running in this process", headers={"Retry-After": "1"}
        )
    container = state.container
    return Center(
        settings=state.settings, ledger=state.stores.ledger, reads=state.read,
        sessions=container.privacy_center_sessions(), container=container,
        limits=_limits(request, state.settings),
    )


CenterDep = Annotated[Center, Depends(center)]
FormField = Annotated[str | None, Form()]


def render(
    request: Request, lang: str, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """`error` and `notice` name a text of api/privacy_center/texts.py (filled with
    `minutes`, `wait_minutes`, `contact`, `reason`, `names`), or are `problem`: a refusal's
    own words, from the domain."""
    words = texts.words(lang)
    fill = {key: context.get(key, "") for key in ("minutes", "contact", "reason", "names")}
    fill["minutes"] = context.get("wait_minutes") or fill["minutes"]
    error, notice = context.pop("error", None), context.pop("notice", None)
    other = "nl" if lang == "en" else "en"
    if context.get("session") is not None:
        context["session_ends"] = datetime.fromtimestamp(context["session"].expires_at, timezone.utc)
    html = templates.get_template(template).render(
        lang=lang, other=other, w=words, switch=_switch(other, context),
        purposes=texts.PURPOSES[lang], kinds=texts.KINDS[lang], statuses=texts.STATUSES[lang],
        channel_names=texts.CHANNELS[lang], path=request.url.path,
        error=words[error].format(**fill) if error else None,
        notice=words[notice].format(**fill) if notice else None, **context,
    )
    return HTMLResponse(html, status_code=status)


def _switch(other: str, context: dict[str, Any]) -> str:
    """The same page in the other language (a form's answer: the page it came from)."""
    if context.get("link"):
        return f"{PATH}/open?{urlencode({'link': context['link'], 'lang': other})}"
    return f"{PATH}/me?lang={other}" if context.get("session") else f"{PATH}?lang={other}"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _set(response: Response, name: str, value: str, max_age: int, secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict", secure=secure
    )


def _clear(response: Response, name: str, secure: bool) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict", secure=secure)


def form_token(request: Request) -> str:
    existing = request.cookies.get(FORM_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing
    return secrets.token_urlsafe(32)


def keep_form_token(request: Request, response: Response, token: str, settings: Settings) -> None:
    _set(response, FORM_COOKIE, token, FORM_SECONDS, is_secure(request, settings.public_url))


def form_token_matches(request: Request, submitted: str | None) -> bool:
    expected = request.cookies.get(FORM_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted or "")


def start_session_cookie(
    request: Request, response: Response, session_id: str, seconds: int, settings: Settings
) -> None:
    secure = is_secure(request, settings.public_url)
    _set(response, SESSION_COOKIE, session_id, seconds, secure)
    _clear(response, FORM_COOKIE, secure)


def end_session_cookie(request: Request, response: Response, settings: Settings) -> None:
    _clear(response, SESSION_COOKIE, is_secure(request, settings.public_url))
