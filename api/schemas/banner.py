"""The consent banner's shapes: the sites that embed it (officers), what the script reads
(`BannerConfig`) and sends (`BannerChoice`), what a choice answers, and linking a visitor to a
registered subject."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, StrictBool

from api.schemas.base import Body, Moment, Position, body_config, examples
from api.schemas.subjects import SUBJECT_ID
from api.schemas.tenants import TENANT_ID
from domain.banner_site import MAX_ORIGINS

SITE_ID = "5a1f0c2e-8d3b-4f6a-9e7c-1b2d3e4f5a6b"
SITE_KEY = "site_Jq3vX0aP2mL8sT5wR9yB1c"
VISITOR_ID = "b3J0aGlzLWlzLWEtdmlzaXRvcg"
VISITOR_SUBJECT = "2c7e5b1a-9d4f-5e3a-8b6c-0d1e2f3a4b5c"
Texts = dict[str, dict[str, str]]
TEXTS = Field(
    None, description="the site's own texts, per language (en, nl) and key, overriding the "
    "defaults; plain text, at most 500 characters each",
)


class SiteCreate(Body):
    model_config = body_config({
        "name": "Webshop", "origins": ["https://shop.example"], "tenant_id": TENANT_ID,
        "notice_version": "2026-03", "texts": {"nl": {"title": "Cookies in onze winkel"}},
    })

    name: str = Field(min_length=1, max_length=200)
    origins: list[str] = Field(
        min_length=1, max_length=MAX_ORIGINS,
        description="where the site's pages are served from, as a browser's Origin: "
        "scheme://host[:port], http or https, no path",
    )
    tenant_id: UUID | None = Field(
        None, description="the tenant whose site it is; none for the vendor's own site"
    )
    notice_version: str | None = Field(
        None, min_length=1, max_length=100,
        description="the notice its visitors choose under; default: LEDGER_PRIVACY_NOTICE_VERSION",
    )
    texts: Texts | None = TEXTS


class SitePatch(Body):
    model_config = body_config({"notice_version": "2026-04"})

    name: str | None = Field(None, min_length=1, max_length=200)
    origins: list[str] | None = Field(None, min_length=1, max_length=MAX_ORIGINS)
    notice_version: str | None = Field(
        None, min_length=1, max_length=100,
        description="a new notice: every visitor is asked again (their choice names the old one)",
    )
    texts: Texts | None = TEXTS


class SiteOut(BaseModel):
    model_config = examples({
        "id": SITE_ID, "key": SITE_KEY, "name": "Webshop", "origins": ["https://shop.example"],
        "tenant_id": TENANT_ID, "notice_version": "2026-03", "texts": {},
        "created_at": "2026-03-01T09:00:00Z", "created_by": "olga", "retired_at": None,
    })

    id: UUID
    key: str = Field(description="the public key the page embeds (data-site); not a secret")
    name: str
    origins: list[str]
    tenant_id: UUID | None
    notice_version: str
    texts: Texts = Field(description="the site's own texts (the defaults fill the rest)")
    created_at: Moment
    created_by: str
    retired_at: Moment | None = None


class Category(BaseModel):
    id: str
    fixed: bool | None = Field(None, description="on without consent (strictly necessary)")
    purpose: str | None = Field(None, description="the consent purpose a choice records")


class BannerConfig(BaseModel):
    model_config = examples({
        "site_key": SITE_KEY, "notice_version": "2026-03",
        "privacy_url": "https://ledger.example/privacy",
        "privacy_center_url": "https://ledger.example/privacy-center", "gpc": False,
        "categories": [{"id": "necessary", "fixed": True},
                       {"id": "analytics", "purpose": "analytics_cookies"},
                       {"id": "tracking", "purpose": "tracking_cookies"}],
        "texts": {"en": {"title": "Cookies on this site", "reject_all": "Reject all"},
                  "nl": {"title": "Cookies op deze site", "reject_all": "Alles weigeren"}},
    })

    site_key: str
    notice_version: str
    privacy_url: str
    privacy_center_url: str
    gpc: bool = Field(description="whether this request carried Sec-GPC: 1")
    categories: list[Category]
    texts: Texts = Field(description="every text in en and nl: the site's own, else the default")


class BannerChoice(Body):
    model_config = body_config({
        "visitor_id": VISITOR_ID, "analytics": True, "tracking": False,
        "notice_version": "2026-03", "language": "nl",
    })

    visitor_id: str = Field(
        pattern=r"^[A-Za-z0-9_-]{22,64}$",
        description="the random id the script keeps in the first-party cookie ledger_visitor",
    )
    analytics: StrictBool
    tracking: StrictBool = Field(description="ignored when the request carries Sec-GPC: 1")
    notice_version: str = Field(
        min_length=1, max_length=100,
        description="the notice the banner showed: the site's current one",
    )
    language: Literal["en", "nl"] = Field(
        "en", description="the banner's language (not recorded)"
    )


class Recorded(BaseModel):
    purpose: str
    status: Literal["given", "withdrawn"]
    method: Literal["cookie_banner", "gpc"]


class ChoiceRecorded(BaseModel):
    model_config = examples({
        "receipt_id": f"{VISITOR_SUBJECT}:4", "visitor": VISITOR_SUBJECT, "position": 42,
        "notice_version": "2026-03", "gpc": False,
        "recorded": [
            {"purpose": "analytics_cookies", "status": "given", "method": "cookie_banner"},
            {"purpose": "tracking_cookies", "status": "withdrawn", "method": "cookie_banner"},
        ],
    })

    receipt_id: str = Field(
        description="<subject id>:<version>: the record id of the choice's last consent "
        "decision (GET /v1/subjects/{id}/consent-receipts/{record_id})"
    )
    visitor: UUID = Field(description="the visitor's subject id")
    position: Position
    notice_version: str
    gpc: bool
    recorded: list[Recorded]


class VisitorLink(Body):
    model_config = body_config({"site_id": SITE_ID, "visitor_id": VISITOR_ID})

    site_id: UUID
    visitor_id: str = Field(pattern=r"^[A-Za-z0-9_-]{22,64}$")


class VisitorLinked(BaseModel):
    model_config = examples(
        {"subject_id": SUBJECT_ID, "visitor": VISITOR_SUBJECT, "position": 43}
    )

    subject_id: UUID
    visitor: UUID = Field(description="the visitor's subject id")
    position: Position | None = Field(
        None, description="null when the visitor was linked to this subject already"
    )
