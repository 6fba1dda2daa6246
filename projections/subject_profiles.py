"""Subjects: profile (sealed personal fields), current consent per purpose, consent history and
the email lookup; erasure and a tenant's purge remove them the same way new events change them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.personal import ERASED
from domain.subject import Subject
from domain.tenant import Tenant
from projections.database import Cursor
from projections.projection import Handler, Projection
from projections.sealed_columns import ColumnSealer, email_hash
from projections.tables import (
    CONSENT_HISTORY,
    EMAIL_LOOKUP,
    SUBJECT_CONSENTS,
    SUBJECT_PROFILES,
    micros,
)

PERSONAL = ("name", "email", "phone")


class SubjectProfiles(Projection):
    name = "subject_profiles"
    tables = (SUBJECT_PROFILES, SUBJECT_CONSENTS, CONSENT_HISTORY, EMAIL_LOOKUP)

    def __init__(self, sealer: ColumnSealer, lookup_key: bytes) -> None:
        self.sealer = sealer
        self.lookup_key = lookup_key

    def handlers(self) -> dict[type, Handler]:
        return {
            Subject.Registered: self._registered,
            Subject.Rectified: self._rectified,
            Subject.ConsentGiven: self._consent,
            Subject.ConsentWithdrawn: self._consent,
            Subject.Erased: self._erased,
            Tenant.Purged: self._tenant_purged,
        }

    def _seal(self, subject_id: str, column: str, value: Any) -> str | None:
        return self.sealer.seal(subject_id, SUBJECT_PROFILES.name, (subject_id,), column, value)

    def _remember_email(self, cur: Cursor, subject_id: str, email: Any, position: int) -> None:
        cur.execute("DELETE FROM email_lookup WHERE subject_id = %s", (subject_id,))
        # An email that replays as "[erased]" has no lookup; nor has one whose key is gone.
        if isinstance(email, str) and email != ERASED and self.sealer.has_key(subject_id):
            cur.execute(
                "INSERT INTO email_lookup (email_hash, subject_id, position) VALUES (%s, %s, %s)",
                (email_hash(self.lookup_key, email), subject_id, position),
            )

    def _registered(self, cur: Cursor, event: Subject.Registered, position: int) -> None:
        sid = str(event.originator_id)
        at = micros(event.timestamp)
        cur.execute(
            "INSERT INTO subject_profiles (id, tenant_id, name, email, phone, erased, created_at, "
            "updated_at, position) VALUES (%s, %s, %s, %s, %s, 0, %s, %s, %s)",
            (
                sid, _str(event.tenant_id), self._seal(sid, "name", event.name),
                self._seal(sid, "email", event.email), self._seal(sid, "phone", event.phone),
                at, at, position,
            ),
        )
        self._remember_email(cur, sid, event.email, position)

    def _rectified(self, cur: Cursor, event: Subject.Rectified, position: int) -> None:
        sid = str(event.originator_id)
        for column in PERSONAL:
            value = getattr(event, column)
            if value is not None:
                # Column names come from the fixed tuple above, never from input.
                cur.execute(
                    f"UPDATE subject_profiles SET {column} = %s WHERE id = %s AND erased = 0",
                    (self._seal(sid, column, value), sid),
                )
        cur.execute(
            "UPDATE subject_profiles SET updated_at = %s WHERE id = %s AND erased = 0",
            (micros(event.timestamp), sid),
        )
        if event.email is not None:
            self._remember_email(cur, sid, event.email, position)

    def _consent(self, cur: Cursor, event: Any, position: int) -> None:
        sid = str(event.originator_id)
        status = "given" if isinstance(event, Subject.ConsentGiven) else "withdrawn"
        at = micros(event.timestamp)
        cur.execute(
            "INSERT INTO subject_consents (subject_id, purpose, status, channel, since, "
            "notice_version, method) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (subject_id, purpose) DO UPDATE SET status = excluded.status, "
            "channel = excluded.channel, since = excluded.since, "
            "notice_version = excluded.notice_version, method = excluded.method",
            (sid, event.purpose, status, event.channel, at, event.notice_version, event.method),
        )
        cur.execute(
            "INSERT INTO consent_history (subject_id, position, purpose, status, channel, "
            "notice_version, method, at, actor) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (sid, position, event.purpose, status, event.channel, event.notice_version,
             event.method, at, event.actor),
        )
        cur.execute(
            "UPDATE subject_profiles SET updated_at = %s WHERE id = %s", (at, sid)
        )

    def _erased(self, cur: Cursor, event: Subject.Erased, position: int) -> None:
        sid = str(event.originator_id)
        cur.execute(
            "UPDATE subject_profiles SET name = NULL, email = NULL, phone = NULL, erased = 1, "
            "updated_at = %s WHERE id = %s",
            (micros(event.timestamp), sid),
        )
        for table in ("subject_consents", "consent_history", "email_lookup"):
            cur.execute(f"DELETE FROM {table} WHERE subject_id = %s", (sid,))

    def _tenant_purged(self, cur: Cursor, event: Tenant.Purged, position: int) -> None:
        """The application shreds the keys of all the tenant's subjects; their rows go too."""
        tid = str(event.originator_id)
        of_tenant = "SELECT id FROM subject_profiles WHERE tenant_id = %s"
        for table in ("subject_consents", "consent_history", "email_lookup"):
            cur.execute(f"DELETE FROM {table} WHERE subject_id IN ({of_tenant})", (tid,))
        cur.execute(
            "UPDATE subject_profiles SET name = NULL, email = NULL, phone = NULL, erased = 1, "
            "updated_at = %s WHERE tenant_id = %s AND erased = 0",
            (micros(event.timestamp), tid),
        )


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
