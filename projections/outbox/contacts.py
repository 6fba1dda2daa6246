"""Whom the ledger mails: a tenant's approvers (and in which language its mail is written), and
the address each caller's token last named.

A tenant's customer sets its approvers and language (api/routers/contacts.py, the portal's
notifications page); the outbox mails them a pending access request and an incident notice. Staff
and officers are mailed at the address their token's `email` claim last carried, remembered here
by caller (`Caller.key`), since the ledger keeps no directory of people.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from projections.outbox.tables import ACTOR_ADDRESSES, OUTBOX_TABLES, TENANT_CONTACTS
from projections.read_models.tables import micros, moment
from projections.storage.database import Database
from projections.storage.tables import ensure_tables_once

LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class TenantContacts:
    tenant_id: UUID
    approver_emails: tuple[str, ...]
    language: str  # one of LANGUAGES
    updated_at: datetime


class ContactStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _tables(self) -> None:
        ensure_tables_once(self.db, OUTBOX_TABLES)

    def set_contacts(
        self, tenant_id: UUID, approver_emails: list[str], language: str, now: datetime
    ) -> TenantContacts:
        """Replaces the tenant's approvers and language; addresses are kept once each, in the
        order given (checking them is the caller's: the API's schema)."""
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        self._tables()
        # An address holds no space (domain/values.py), so the list is kept as words.
        emails = tuple(dict.fromkeys(approver_emails))
        self.db.execute(
            f"INSERT INTO {TENANT_CONTACTS.name} (tenant_id, approver_emails, language, "
            "updated_at) VALUES (%s, %s, %s, %s) ON CONFLICT (tenant_id) DO UPDATE SET "
            "approver_emails = excluded.approver_emails, language = excluded.language, "
            "updated_at = excluded.updated_at",
            (str(tenant_id), " ".join(emails), language, micros(now)),
        )
        return TenantContacts(tenant_id, emails, language, now)

    def contacts(self, tenant_id: UUID) -> TenantContacts | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT approver_emails, language, updated_at FROM {TENANT_CONTACTS.name} "
            "WHERE tenant_id = %s", (str(tenant_id),),
        )
        if row is None:
            return None
        return TenantContacts(tenant_id, tuple(row[0].split()), row[1], moment(row[2]))

    def forget_contacts(self, tenant_id: UUID) -> None:
        """A purged tenant's approvers are nobody's business any more."""
        self._tables()
        self.db.execute(
            f"DELETE FROM {TENANT_CONTACTS.name} WHERE tenant_id = %s", (str(tenant_id),)
        )

    def remember_address(self, actor_key: str, email: str, now: datetime) -> None:
        self._tables()
        self.db.execute(
            f"INSERT INTO {ACTOR_ADDRESSES.name} (actor_key, email, seen_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (actor_key) DO UPDATE SET email = excluded.email, "
            "seen_at = excluded.seen_at",
            (actor_key, email, micros(now)),
        )

    def address(self, actor_key: str) -> str | None:
        self._tables()
        row = self.db.fetchone(
            f"SELECT email FROM {ACTOR_ADDRESSES.name} WHERE actor_key = %s", (actor_key,)
        )
        return row[0] if row else None
