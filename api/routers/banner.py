"""The consent banner's public endpoints (no token): its configuration for a site, and a visitor's
choice (docs/privacy-center.md shows how a vendor embeds the banner).

Both are called by the banner script from the vendor's pages, so both answer CORS for the
site's own origins only (api/banner/origins.py). A choice is checked in this order, and a
refused one records nothing: an unknown or retired key 404; no or a foreign `Origin` 403; not
`application/json` 415; a body over 2 KB 413; a malformed body 422 naming the field (unknown
fields too); a notice version that is not the site's current one 409; too many choices from the
address or the visitor 429 with Retry-After; a terminated tenant's site 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.banner import choices
from api.banner.limits import client_address, limits_of
from api.banner.origins import BannerRoute, preflight_headers, site_for
from api.http.deps import LedgerDep, SettingsDep
from api.http.problems import ProblemException, documented
from api.schemas.banner import BannerChoice, BannerConfig, ChoiceRecorded

router = APIRouter(
    prefix="/v1/banner", tags=["consent banner (no login)"], route_class=BannerRoute,
    responses=documented(403, 404, 422),
)
MAX_CHOICE_BYTES = 2048
SiteKey = Annotated[str, Path(description="the site's public key (data-site on the script tag)")]
_CHOICE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": BannerChoice.model_json_schema()}},
    }
}


def _gpc(request: Request) -> bool:
    """Global Privacy Control: the browser's `Sec-GPC: 1`."""
    return request.headers.get("sec-gpc", "").strip() == "1"


@router.get("/{site_key}/config")
def banner_config(
    site_key: SiteKey, request: Request, settings: SettingsDep
) -> BannerConfig:
    """What the script shows on the site's page: the categories (necessary fixed on, nothing
    pre-ticked), the texts in en and nl, the links, and whether this browser sent GPC."""
    site = site_for(request, site_key)
    return BannerConfig.model_validate(choices.config(site, settings.public_url, _gpc(request)))


@router.post(
    "/{site_key}/choices", status_code=201, openapi_extra=_CHOICE_BODY,
    responses=documented(409, 410, 413, 415, 429, 503),
)
async def record_choice(
    site_key: SiteKey, request: Request, ledger: LedgerDep
) -> ChoiceRecorded:
    """Record a visitor's choice: the notice shown (necessary cookies need no consent) and
    analytics_cookies and tracking_cookies given or withdrawn with method cookie_banner, all
    in one save. With `Sec-GPC: 1` the tracking choice is ignored: tracking_cookies and
    third_party_marketing are withdrawn with method gpc. No IP address is recorded."""
    site = await run_in_threadpool(site_for, request, site_key)
    choice = _parsed(await _small_json(request))
    choices.ensure_current_notice(site, choice.notice_version)
    limits_of(request).admit(site, choice.visitor_id, client_address(request))
    answer = await run_in_threadpool(
        choices.record, ledger, site, choice.visitor_id, choice.analytics, choice.tracking,
        _gpc(request),
    )
    return ChoiceRecorded.model_validate(answer)


async def _small_json(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ProblemException(415, "a choice is sent as Content-Type: application/json")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CHOICE_BYTES:
        raise ProblemException(413, f"a choice is at most {MAX_CHOICE_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_CHOICE_BYTES:
        raise ProblemException(413, f"a choice is at most {MAX_CHOICE_BYTES} bytes")
    return body


def _parsed(body: bytes) -> BannerChoice:
    try:
        return BannerChoice.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError([
            {**item, "loc": ("body", *item.get("loc", ()))} for item in error.errors()
        ]) from None


@router.options("/{site_key}/config", include_in_schema=False)
def config_preflight(site_key: str, request: Request) -> Response:
    return _preflight(request, site_key, "GET")


@router.options("/{site_key}/choices", include_in_schema=False)
def choices_preflight(site_key: str, request: Request) -> Response:
    """The browser asks before a cross-origin JSON POST: only a site's own origins may."""
    return _preflight(request, site_key, "POST")


def _preflight(request: Request, site_key: str, method: str) -> Response:
    site_for(request, site_key)
    origin: Any = request.state.banner_origin
    return Response(status_code=204, headers=preflight_headers(origin, method))
