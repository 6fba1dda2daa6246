"""Subjects: profile (sealed personal fields), current consent per purpose, consent history and
the email lookup; erasure and a tenant's purge remove them the same way new events change them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.personal import ERASED
from domain.subject import Subject
from domain.tenant import Tenant
from projections.projection import Handler, Projection, Writes
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

    def _remember_email(
        self, w: Writes, subject_id: str, email: Any, position: int, *, new: bool = False
    ) -> None:
        """`new`: the subject was registered by this very event, so it has no lookup row to
        delete (and a delete would first send every row the batch holds, for nothing)."""
        if not new:
            w.execute("DELETE FROM email_lookup WHERE subject_id = %s", (subject_id,))
        # An email that replays as "[erased]" has no lookup; nor has one whose key is gone.
        if isinstance(email, str) and email != ERASED and self.sealer.has_key(subject_id):
            w.insert(EMAIL_LOOKUP, {
                "email_hash": email_hash(self.lookup_key, email), "subject_id": subject_id,
                "position": position,
            })

    def _registered(self, w: Writes, event: Subject.Registered, position: int) -> None:
        sid = str(event.originator_id)
        at = micros(event.timestamp)
        w.insert(SUBJECT_PROFILES, {
            "id": sid, "tenant_id": _str(event.tenant_id),
            "name": self._seal(sid, "name", event.name),
            "email": self._seal(sid, "email", event.email),
            "phone": self._seal(sid, "phone", event.phone),
            "erased": 0, "created_at": at, "updated_at": at, "position": position,
        })
        self._remember_email(w, sid, event.email, position, new=True)

    def _rectified(self, w: Writes, event: Subject.Rectified, position: int) -> None:
        sid = str(event.originator_id)
        for column in PERSONAL:
            value = getattr(event, column)
            if value is not None:
                # Column names come from the fixed tuple above, never from input.
                w.execute(
                    f"UPDATE subject_profiles SET {column} = %s WHERE id = %s AND erased = 0",
                    (self._seal(sid, column, value), sid),
                )
        w.execute(
            "UPDATE subject_profiles SET updated_at = %s WHERE id = %s AND erased = 0",
            (micros(event.timestamp), sid),
        )
        if event.email is not None:
            self._remember_email(w, sid, event.email, position)

    def _consent(self, w: Writes, event: Any, position: int) -> None:
        """The most frequent event: three held rows, which a batch sends as one statement per
        table (the last decision per purpose and the last `updated_at` per subject win)."""
        sid = str(event.originator_id)
        status = "given" if isinstance(event, Subject.ConsentGiven) else "withdrawn"
        at = micros(event.timestamp)
        w.upsert(SUBJECT_CONSENTS, {
            "subject_id": sid, "purpose": event.purpose, "status": status,
            "channel": event.channel, "since": at, "notice_version": event.notice_version,
            "method": event.method,
        })
        w.insert(CONSENT_HISTORY, {
            "subject_id": sid, "position": position, "purpose": event.purpose,
            "status": status, "channel": event.channel, "notice_version": event.notice_version,
            "method": event.method, "at": at, "actor": event.actor,
        })
        w.update(SUBJECT_PROFILES, (sid,), {"updated_at": at})

    def _erased(self, w: Writes, event: Subject.Erased, position: int) -> None:
        sid = str(event.originator_id)
        w.execute(
            "UPDATE subject_profiles SET name = NULL, email = NULL, phone = NULL, erased = 1, "
            "updated_at = %s WHERE id = %s",
            (micros(event.timestamp), sid),
        )
        for table in ("subject_consents", "consent_history", "email_lookup"):
            w.execute(f"DELETE FROM {table} WHERE subject_id = %s", (sid,))

    def _tenant_purged(self, w: Writes, event: Tenant.Purged, position: int) -> None:
        """The application shreds the keys of all the tenant's subjects; their rows go too."""
        tid = str(event.originator_id)
        of_tenant = "SELECT id FROM subject_profiles WHERE tenant_id = %s"
        for table in ("subject_consents", "consent_history", "email_lookup"):
            w.execute(f"DELETE FROM {table} WHERE subject_id IN ({of_tenant})", (tid,))
        w.execute(
            "UPDATE subject_profiles SET name = NULL, email = NULL, phone = NULL, erased = 1, "
            "updated_at = %s WHERE tenant_id = %s AND erased = 0",
            (micros(event.timestamp), tid),
        )


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
