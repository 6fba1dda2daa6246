"""How many choices the banner records per visitor and per client address: the public door must
not let one visitor, or one machine, fill the ledger. Two sliding windows of one minute
(api/http/rate_limits.py), per process, sized by LEDGER_BANNER_CHOICES_PER_VISITOR and
LEDGER_BANNER_CHOICES_PER_ADDRESS; a choice over either is refused 429 with Retry-After and
records nothing.
"""

from __future__ import annotations

import math
import threading

from fastapi import Request

from api.http.problems import ProblemException
from api.http.rate_limits import SlidingWindow
from domain.banner_site import BannerSite

WINDOW_SECONDS = 60.0
_making = threading.Lock()


class ChoiceLimits:
    def __init__(self, per_visitor: int, per_address: int) -> None:
        self.visitors = SlidingWindow(per_visitor, WINDOW_SECONDS)
        self.addresses = SlidingWindow(per_address, WINDOW_SECONDS)

    def admit(self, site: BannerSite, visitor: str, address: str) -> None:
        """Counts the choice, or raises 429 naming which limit it passed."""
        wait = self.addresses.admit(address)
        if wait is not None:
            raise _too_many("from this address", wait)
        wait = self.visitors.admit(f"{site.id}:{visitor}")
        if wait is not None:
            raise _too_many("from this visitor", wait)


def limits_of(request: Request) -> ChoiceLimits:
    """The app's limits, made on first use from its settings (one per app, so each test's
    app counts on its own)."""
    state = request.app.state
    made = getattr(state, "banner_limits", None)
    if made is None:
        with _making:
            made = getattr(state, "banner_limits", None)
            if made is None:
                settings = state.settings
                made = state.banner_limits = ChoiceLimits(
                    settings.banner_choices_per_visitor, settings.banner_choices_per_address
                )
    return made


def client_address(request: Request) -> str:
    # The peer's address as the server saw it; behind a proxy, uvicorn's --forwarded-allow-ips
    # makes it the client's. Used for counting only: it is never recorded.
    return request.client.host if request.client else "unknown"


def _too_many(where: str, wait: float) -> ProblemException:
    seconds = max(1, math.ceil(wait))
    return ProblemException(
        429, f"too many choices {where}: try again in {seconds} seconds",
        headers={"Retry-After": str(seconds)},
    )
