"""The websites that embed the consent banner (domain/banner_site.py), as registered by an officer.

A site is configuration, not a recorded fact, so it lives in a table of its own, like the
vendor's systems. It is retired, never deleted: the choices recorded on it name it (their
actor is `banner:<key>`, the visitor's id derives from the site's id). A retired site's key
answers nothing any more.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from domain import banner_site
from domain.banner_site import BannerSite
from projections.storage.database import Database
from projections.storage.sortable_stamps import from_sortable_stamp, sortable_stamp
from projections.storage.tables import Table, ensure_tables_once

BANNER_SITES = Table(
    "banner_sites",
    # One site per key, however many officers register at once (`key` is a word of SQL).
    "id TEXT, site_key TEXT NOT NULL UNIQUE, name TEXT NOT NULL, origins TEXT NOT NULL, "
    "tenant_id TEXT, notice_version TEXT NOT NULL, texts TEXT NOT NULL, "
    "created_at TEXT NOT NULL, created_by TEXT NOT NULL, retired_at TEXT",
    key=("id",),
)
_COLUMNS = (
    "id, site_key, name, origins, tenant_id, notice_version, texts, created_at, created_by, "
    "retired_at"
)


class RegisteredSite:
    """A site and its bookkeeping: who registered it when, and when it was retired."""

    def __init__(self, site: BannerSite, created_at: datetime, created_by: str,
                 retired_at: datetime | None) -> None:
        self.site, self.created_at, self.created_by = site, created_at, created_by
        self.retired_at = retired_at

    @property
    def active(self) -> bool:
        return self.retired_at is None


class SiteStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _tables(self) -> None:
        ensure_tables_once(self.db, (BANNER_SITES,))

    def register(
        self, *, name: str, origins: Any, tenant_id: UUID | None, notice_version: str,
        texts: Any, created_by: str, now: datetime,
    ) -> RegisteredSite:
        """The domain checks the description (InvalidInput naming the field)."""
        site = BannerSite(
            id=uuid4(), key=banner_site.new_key(), name=banner_site.name(name),
            origins=banner_site.origins(origins), tenant_id=tenant_id,
            notice_version=banner_site.notice_version(notice_version),
            texts=banner_site.texts(texts),
        )
        self._tables()
        self.db.execute(
            f"INSERT INTO {BANNER_SITES.name} ({_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)",
            (str(site.id), site.key, site.name, json.dumps(list(site.origins)),
             _text(tenant_id), site.notice_version, json.dumps(site.texts), sortable_stamp(now),
             created_by),
        )
        made = self.get(site.id)
        assert made is not None
        return made

    def get(self, site_id: UUID) -> RegisteredSite | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM {BANNER_SITES.name} WHERE id = %s", (str(site_id),)
        )
        return _registered(row) if row else None

    def by_key(self, key: str) -> RegisteredSite | None:
        """The active site with this key; None for an unknown or retired one."""
        if not banner_site.SITE_KEY.fullmatch(key):
            return None  # not even looked up: no key was ever made like it
        self._tables()
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM {BANNER_SITES.name} "
            "WHERE site_key = %s AND retired_at IS NULL", (key,),
        )
        return _registered(row) if row else None

    def page(
        self, after: tuple[str, str] | None, limit: int
    ) -> tuple[list[RegisteredSite], tuple[str, str] | None]:
        """Every site, retired ones too, in the order registered, after the sort key `after`
        (the API makes it a cursor); and the key of the last one shown when more follow."""
        self._tables()
        where, params = "", ()
        if after is not None:
            where = "WHERE created_at > %s OR (created_at = %s AND id > %s)"
            params = (after[0], after[0], after[1])
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS} FROM {BANNER_SITES.name} {where} "
            "ORDER BY created_at, id LIMIT %s", (*params, limit + 1),
        )
        found = [_registered(row) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return found, None if last is None else (last[7], last[0])

    def update(
        self, site_id: UUID, *, name: Any = None, origins: Any = None,
        notice_version: Any = None, texts: Any = None,
    ) -> RegisteredSite | None:
        """Changes what is given (None: left as it is); None when there is no active site with
        this id. The key and the tenant never change: pages embed the one, choices the other."""
        found = self.get(site_id)
        if found is None or not found.active:
            return None
        site = found.site
        changed = replace(
            site,
            name=site.name if name is None else banner_site.name(name),
            origins=site.origins if origins is None else banner_site.origins(origins),
            notice_version=site.notice_version if notice_version is None
            else banner_site.notice_version(notice_version),
            texts=site.texts if texts is None else banner_site.texts(texts),
        )
        self.db.execute(
            f"UPDATE {BANNER_SITES.name} SET name = %s, origins = %s, notice_version = %s, "
            "texts = %s WHERE id = %s AND retired_at IS NULL",
            (changed.name, json.dumps(list(changed.origins)), changed.notice_version,
             json.dumps(changed.texts), str(site_id)),
        )
        return self.get(site_id)

    def retire(self, site_id: UUID, now: datetime) -> RegisteredSite | None:
        """None when there is no such site; a retired one stays as it was."""
        self._tables()
        self.db.execute(
            f"UPDATE {BANNER_SITES.name} SET retired_at = %s WHERE id = %s AND retired_at IS NULL",
            (sortable_stamp(now), str(site_id)),
        )
        return self.get(site_id)


def _text(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _registered(row: tuple) -> RegisteredSite:
    site = BannerSite(
        id=UUID(row[0]), key=row[1], name=row[2], origins=tuple(json.loads(row[3])),
        tenant_id=UUID(row[4]) if row[4] else None, notice_version=row[5],
        texts=json.loads(row[6]),
    )
    retired = from_sortable_stamp(row[9]) if row[9] else None
    return RegisteredSite(site, from_sortable_stamp(row[7]), row[8], retired)
