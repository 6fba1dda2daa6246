"""Subjects: a profile (with its consent per purpose and channel), a page of profiles, the
profile as it stood at a past moment, the consent history, and lookups by e-mail address."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain import consent
from domain.errors import InvalidInput
from projections.read_models.history import subject_profile_as_of
from projections.read_models.queries.base import Queries, checked_uuid, filters
from projections.read_models.queries.consent_check import DECISION_COLUMNS, decision
from projections.read_models.queries.paging import DEFAULT_LIMIT, Page, keyset_page
from projections.read_models.sealed_columns import email_hash
from projections.read_models.tables import moment

_COLUMNS = "id, tenant_id, name, email, phone, erased, created_at, updated_at, kind"


class SubjectQueries(Queries):
    def subject_profile(self, subject_id: UUID | str) -> dict[str, Any] | None:
        row = self.db.fetchone(
            f"SELECT {_COLUMNS} FROM subject_profiles WHERE id = %s", (str(subject_id),)
        )
        if row is None:
            return None
        item = self._subject_item(row)
        if not item["erased"]:
            decisions: dict[str, dict[str, Any]] = {}
            for purpose, *rest in self.db.fetchall(
                f"SELECT purpose, {DECISION_COLUMNS} FROM subject_consents "
                "WHERE subject_id = %s ORDER BY purpose",
                (item["id"],),
            ):
                decisions.setdefault(purpose, {})[rest[0]] = decision(rest)
            item["consents"] = {p: consent.summary(d) for p, d in decisions.items()}
        return item

    def subjects(
        self, *, tenant_id: UUID | str | None = None, after: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page:
        """Newest first, without consents (ask `subject_profile` for those)."""
        where, params = filters(("tenant_id", tenant_id))
        return keyset_page(
            self.db, _COLUMNS, "subject_profiles", where, params, after, limit,
            order=("position",), descending=True, item=self._subject_item,
        )

    def _subject_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        sid, tenant_id, name, email, phone, erased, created_at, updated_at, kind = row
        if erased:
            return {"id": sid, "tenant_id": tenant_id, "erased": True}

        def opened(column: str, sealed: str | None) -> Any:
            return self.sealer.open(sid, "subject_profiles", (sid,), column, sealed)

        return {
            "id": sid, "tenant_id": tenant_id, "name": opened("name", name),
            "email": opened("email", email), "phone": opened("phone", phone), "erased": False,
            "created_at": moment(created_at), "updated_at": moment(updated_at), "kind": kind,
        }

    def subject_profile_as_of(
        self, subject_id: UUID | str, as_of: datetime
    ) -> dict[str, Any] | None:
        """From the subject's events up to `as_of` (not from these tables)."""
        if self.ledger is None:
            raise RuntimeError("ReadModels was made without the ledger; as-of needs its events")
        return subject_profile_as_of(self.ledger, checked_uuid(subject_id, "subject_id"), as_of)

    def consent_history(
        self, subject_id: UUID | str, after: str | None = None, limit: int = DEFAULT_LIMIT
    ) -> Page:
        """Oldest first."""
        return keyset_page(
            self.db, "position, purpose, status, channel, notice_version, method, at, actor",
            "consent_history", ["subject_id = %s"], [str(subject_id)], after, limit,
            order=("position",), descending=False,
            item=lambda row: {
                "position": row[0], "purpose": row[1], "status": row[2], "channel": row[3],
                "notice_version": row[4], "method": row[5], "at": moment(row[6]),
                "actor": row[7],
            },
        )

    def subject_by_email(self, email: str) -> UUID | None:
        _ensure_email(email)
        row = self.db.fetchone(
            "SELECT subject_id FROM email_lookup WHERE email_hash = %s "
            "ORDER BY position DESC LIMIT 1",
            (email_hash(self.lookup_key, email),),
        )
        return None if row is None else UUID(row[0])

    def subjects_by_email(
        self, email: str, *, tenant_id: UUID | str | None = None
    ) -> list[dict[str, Any]]:
        """Every subject with this e-mail address (ignoring case and surrounding spaces),
        newest first, found by the keyed hash of DESIGN.md §4: nothing is decrypted to look."""
        _ensure_email(email)
        where, params = filters(("p.tenant_id", tenant_id))
        rows = self.db.fetchall(
            "SELECT p.id, p.tenant_id, p.name, p.email, p.phone, p.erased, p.created_at, "
            "p.updated_at, p.kind FROM email_lookup l JOIN subject_profiles p ON p.id = l.subject_id "
            "WHERE l.email_hash = %s" + "".join(f" AND {w}" for w in where)
            + " ORDER BY p.position DESC LIMIT 100",
            (email_hash(self.lookup_key, email), *params),
        )
        return [self._subject_item(row) for row in rows]


def _ensure_email(email: str) -> None:
    if not isinstance(email, str) or not email.strip():
        raise InvalidInput("email", "email is required")
