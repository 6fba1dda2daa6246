"""The settings of what faces the people behind the data (docs/privacy-center.md): the privacy
notice's version, the consent banner and the privacy center. Part of the one `Settings` class
(api/settings.py), kept in their own module for size."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacySettings(BaseModel):
    # The privacy notice at /privacy (api/routers/privacy.py)
    privacy_notice_version: str = Field(
        "1", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$",
        description="the version of the privacy notice at /privacy: recorded with every consent "
        "given in the privacy center, and the banner's notice unless a site names its own",
    )
    # The consent banner (api/banner/)
    banner_choices_per_visitor: int = Field(
        10, ge=1, le=10_000,
        description="how many banner choices one visitor of one site may record per minute "
        "(LEDGER_BANNER_CHOICES_PER_VISITOR); more are answered 429 with Retry-After, per process",
    )
    banner_choices_per_address: int = Field(
        60, ge=1, le=100_000,
        description="how many banner choices one client address may record per minute, over "
        "every site and visitor (LEDGER_BANNER_CHOICES_PER_ADDRESS); more are answered 429 "
        "with Retry-After, per process",
    )
    # The privacy center (api/privacy_center/)
    privacy_center_link_minutes: int = Field(
        15, ge=1, le=1440, description="LEDGER_PRIVACY_CENTER_LINK_MINUTES: how long the "
        "privacy center's one-time sign-in link works",
    )
    privacy_center_session_minutes: int = Field(
        30, ge=1, le=1440, description="LEDGER_PRIVACY_CENTER_SESSION_MINUTES: how long a "
        "privacy-center session lasts once the link was used",
    )
    privacy_center_sign_ins_per_email: int = Field(
        3, ge=1, description="LEDGER_PRIVACY_CENTER_SIGN_INS_PER_EMAIL: sign-in links asked for "
        "one e-mail address per 15 minutes (per process), known or not",
    )
    privacy_center_sign_ins_per_address: int = Field(
        20, ge=1, description="LEDGER_PRIVACY_CENTER_SIGN_INS_PER_ADDRESS: sign-ins asked from "
        "one client address per 15 minutes (per process)",
    )
