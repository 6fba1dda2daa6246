"""The websites that embed the consent banner, registered by an officer: each has a public key
(the page's `data-site`), the origins its pages are served from, its tenant, the notice version
its visitors choose under, and its own texts. Auditors may read them. Retiring a site (DELETE)
makes its key answer 404; the choices recorded on it stay in the ledger."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from api.http.deps import (
    ContainerDep, CurrentLedgerDep, LedgerDep, Officer, OfficerOrAuditor, SettingsDep,
)
from api.http.idempotency import IdempotentRoute
from api.http.paging import Page, PagingDep, fetch_page
from api.http.problems import ProblemException, documented, field_problem
from api.schemas.banner import SiteCreate, SiteOut, SitePatch
from api.services.visibility import not_found
from domain.errors import NotFound
from domain.ledger import Ledger
from projections.read_models.queries.paging import decode_cursor, encode_cursor
from projections.storage.banner_sites import RegisteredSite

router = APIRouter(
    prefix="/v1/sites", tags=["consent banner sites"],
    route_class=IdempotentRoute, responses=documented(401, 403, 404, 422),
)


def site_view(registered: RegisteredSite) -> dict[str, Any]:
    site = registered.site
    return {
        "id": site.id, "key": site.key, "name": site.name, "origins": list(site.origins),
        "tenant_id": site.tenant_id, "notice_version": site.notice_version,
        "texts": site.texts, "created_at": registered.created_at,
        "created_by": registered.created_by, "retired_at": registered.retired_at,
    }


def _ensure_tenant(ledger: Ledger, tenant_id: UUID | None) -> None:
    """A site of a tenant that does not exist is a mistake in the body; one of a terminated
    tenant is refused by its state (409)."""
    if tenant_id is None:
        return
    try:
        tenant = ledger.tenant(tenant_id)
    except NotFound:
        raise field_problem("tenant_id", f"there is no tenant with id {tenant_id}") from None
    tenant.ensure_active()


@router.post("", status_code=201, responses=documented(409))
def register_site(
    body: SiteCreate, caller: Officer, ledger: LedgerDep, container: ContainerDep,
    settings: SettingsDep,
) -> SiteOut:
    """Register a site that embeds the banner. Its `key` goes in the page's script tag; only
    requests from its `origins` may use it."""
    _ensure_tenant(ledger, body.tenant_id)
    registered = container.sites().register(
        name=body.name, origins=body.origins, tenant_id=body.tenant_id,
        notice_version=body.notice_version or settings.privacy_notice_version,
        texts=body.texts, created_by=caller.actor, now=ledger.now(),
    )
    return SiteOut.model_validate(site_view(registered))


# The GETs take the ledger only to accept `min_position`, as every GET does.
@router.get("")
def list_sites(
    caller: OfficerOrAuditor, container: ContainerDep, page: PagingDep, ledger: CurrentLedgerDep
) -> Page[SiteOut]:
    """Every site, retired ones too, in the order registered."""

    def fetch() -> Any:
        key = decode_cursor(page.after, str, str)
        found, last = container.sites().page(key, page.limit)  # type: ignore[arg-type]
        return {
            "items": [site_view(s) for s in found],
            "next": None if last is None else encode_cursor(*last),
        }

    return Page[SiteOut].model_validate(fetch_page(page, fetch))


@router.get("/{site_id}")
def get_site(
    site_id: UUID, caller: OfficerOrAuditor, container: ContainerDep, ledger: CurrentLedgerDep
) -> SiteOut:
    found = container.sites().get(site_id)
    if found is None:
        raise not_found("site", site_id)
    return SiteOut.model_validate(site_view(found))


@router.patch("/{site_id}", responses=documented(409))
def change_site(
    site_id: UUID, body: SitePatch, caller: Officer, container: ContainerDep
) -> SiteOut:
    """Change the name, origins, notice version or texts (what is given). A new notice version
    makes every visitor choose again. The key and the tenant never change."""
    sites = container.sites()
    found = sites.get(site_id)
    if found is None:
        raise not_found("site", site_id)
    if not found.active:
        raise ProblemException(409, "the site is retired; register a new one instead")
    changed = sites.update(
        site_id, name=body.name, origins=body.origins, notice_version=body.notice_version,
        texts=body.texts,
    )
    if changed is None:
        raise not_found("site", site_id)
    return SiteOut.model_validate(site_view(changed))


@router.delete("/{site_id}")
def retire_site(
    site_id: UUID, caller: Officer, ledger: LedgerDep, container: ContainerDep
) -> SiteOut:
    """Retire a site: its key answers 404 from now on. Retiring a retired site changes nothing."""
    found = container.sites().retire(site_id, ledger.now())
    if found is None:
        raise not_found("site", site_id)
    return SiteOut.model_validate(site_view(found))
