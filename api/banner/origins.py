"""Which pages may call the banner's endpoints, and the CORS answers that let them read the reply.

The banner runs on the vendor's pages, another origin than the ledger's, so its requests are
cross-origin: the browser sends `Origin`, and lets the page read an answer only when it says
`Access-Control-Allow-Origin` with that origin. Only a site's own origins get it; a request
with no `Origin` or a foreign one is refused (403) before anything is read or recorded, and an
unknown or retired key is a 404. A refusal to an allowed origin carries the CORS headers too,
so the script can read why (a 409 for a stale notice, a 429 with Retry-After).

`Origin` is a browser's word, not a proof: a script outside a browser can send any. The check
keeps other sites' pages from recording choices through a visitor's browser; the rate limits
(api/banner/limits.py) bound what anyone can send.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response

from api.http import problems
from api.http.problems import ProblemException
from api.http.query_parameters import StrictQueryRoute
from domain.banner_site import BannerSite

# How long a browser may keep a preflight's answer (seconds).
PREFLIGHT_MAX_AGE = "600"
EXPOSED = "Retry-After"  # the script reads it from a 429


def site_for(request: Request, site_key: str) -> BannerSite:
    """The active site with this key, once the request's `Origin` is one of its origins; the
    origin is remembered for the CORS headers of the answer, whatever it is."""
    found = request.app.state.container.sites().by_key(site_key)
    if found is None:
        raise ProblemException(404, f"no site with the key {site_key!r}: it is unknown or retired")
    origin = request.headers.get("origin")
    if origin is None:
        raise ProblemException(
            403, "the banner is called from a site's pages: this request has no Origin header"
        )
    if not found.site.allows(origin):
        raise ProblemException(
            403, f"the origin {origin[:300]!r} is not one of this site's origins"
        )
    request.state.banner_origin = origin
    return found.site


def cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": EXPOSED,
        "Vary": "Origin",
    }


def preflight_headers(origin: str, method: str) -> dict[str, str]:
    return {
        **cors_headers(origin),
        "Access-Control-Allow-Methods": f"{method}, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }


class BannerRoute(StrictQueryRoute):
    """Every answer of a banner route carries `Vary: Origin`, and the CORS headers when the
    request's origin was found to be the site's: refusals included (the problem answer is
    made here, so it can carry them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            try:
                response = await handler(request)
            except Exception as error:
                answer = problems.response_for(request, error)
                if answer is None:
                    raise
                response = answer
            origin = getattr(request.state, "banner_origin", None)
            if origin is not None:
                for name, value in cors_headers(origin).items():
                    response.headers.setdefault(name, value)
            else:
                response.headers.setdefault("Vary", "Origin")
            return response

        return with_cors
