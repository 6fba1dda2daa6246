"""What the banner answers: its configuration for a site, and a visitor's choice recorded in the
ledger (domain/visitor.py says which events one choice records)."""

from __future__ import annotations

from typing import Any

from api.banner.texts import merged
from api.http.problems import ProblemException
from domain.banner_site import BannerSite
from domain.errors import SubjectErased
from domain.ledger import Ledger
from domain.visitor import banner_decisions
from domain.vocabulary import Purpose

CATEGORIES = (
    {"id": "necessary", "fixed": True},
    {"id": "analytics", "purpose": Purpose.ANALYTICS_COOKIES.value},
    {"id": "tracking", "purpose": Purpose.TRACKING_COOKIES.value},
)


def config(site: BannerSite, public_url: str, gpc: bool) -> dict[str, Any]:
    base = public_url.rstrip("/")
    return {
        "site_key": site.key, "notice_version": site.notice_version,
        "privacy_url": f"{base}/privacy", "privacy_center_url": f"{base}/privacy-center",
        "gpc": gpc, "categories": list(CATEGORIES), "texts": merged(site.texts),
    }


def ensure_current_notice(site: BannerSite, notice_version: str) -> None:
    """A choice made under another notice than the site's current one is refused: the
    visitor saw an old text (the script then asks again, under the current one)."""
    if notice_version != site.notice_version:
        raise ProblemException(
            409, f"notice_version {notice_version[:100]!r} is not the site's current notice "
            f"({site.notice_version!r}): show the banner again and ask anew",
        )


def record(
    ledger: Ledger, site: BannerSite, visitor: str, analytics: bool, tracking: bool, gpc: bool,
) -> dict[str, Any]:
    """The choice recorded in one save (under the site's current notice), and its receipt."""
    try:
        outcome = ledger.record_banner_choice(site, visitor, analytics, tracking, gpc)
    except SubjectErased:
        # Gone, for good: the script starts afresh as a new visitor (a new id, a new subject).
        raise ProblemException(
            410, "this visitor was erased: nothing more is recorded about them; a new "
            "choice is made with a new visitor_id",
        ) from None
    subject = outcome.aggregate
    return {
        # The choice's last event is its last consent decision: its record id is the receipt.
        "receipt_id": f"{subject.id}:{subject.version}", "visitor": subject.id,
        "position": outcome.position, "notice_version": site.notice_version, "gpc": gpc,
        "recorded": [
            {"purpose": purpose, "status": status.value, "method": method.value}
            for purpose, status, method in banner_decisions(analytics, tracking, gpc)
        ],
    }
