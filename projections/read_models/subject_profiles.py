"""Subjects: profile (sealed personal fields), consent per purpose and channel, consent history
and the email lookup; erasure and a tenant's purge remove them the same way new events change
them.

Each profile keeps the version of the subject's last event it reflects (`version`), so a
reader can tell whether it is current: the consent check compares it with the events
themselves and never answers from a profile that has not seen a withdrawal yet.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import consent
from domain.personal import ERASED
from domain.subject import Subject
from domain.tenant import Tenant
from projections.read_models.base import Handler, Projection, Writes
from projections.read_models.sealed_columns import ColumnSealer, email_hash
from projections.read_models.tables import (
    CONSENT_HISTORY,
    EMAIL_LOOKUP,
    SUBJECT_CONSENTS,
    SUBJECT_PROFILES,
    micros,
)

PERSONAL = ("name", "email", "phone")


class SubjectProfiles(Projection):
    name = "subject_profiles"
    version = 2  # 2: consent per channel; each profile's subject version
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
            Subject.RequestOpened: self._seen,
            Subject.RequestClosed: self._seen,
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
            "version": event.originator_version,
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
            "UPDATE subject_profiles SET updated_at = %s, version = %s WHERE id = %s AND erased = 0",
            (micros(event.timestamp), event.originator_version, sid),
        )
        if event.email is not None:
            self._remember_email(w, sid, event.email, position)

    def _consent(self, w: Writes, event: Any, position: int) -> None:
        """The most frequent event: three held rows, which a batch sends as one statement per
        table (the last decision per purpose and channel, and the last `updated_at` and
        version per subject, win). A decision for every channel is kept under "*"; which
        decision stands for a channel is domain/consent.py's rule, applied when read."""
        sid = str(event.originator_id)
        status = "given" if isinstance(event, Subject.ConsentGiven) else "withdrawn"
        at = micros(event.timestamp)
        w.upsert(SUBJECT_CONSENTS, {
            "subject_id": sid, "purpose": event.purpose, "channel": consent.key(event.channel),
            "status": status, "since": at, "notice_version": event.notice_version,
            "method": event.method, "version": event.originator_version,
        })
        w.insert(CONSENT_HISTORY, {
            "subject_id": sid, "position": position, "purpose": event.purpose,
            "status": status, "channel": event.channel, "notice_version": event.notice_version,
            "method": event.method, "at": at, "actor": event.actor,
        })
        w.update(SUBJECT_PROFILES, (sid,), {"updated_at": at, "version": event.originator_version})

    def _seen(self, w: Writes, event: Any, position: int) -> None:
        """An event that changes nothing shown here still moves the profile's version."""
        w.update(SUBJECT_PROFILES, (str(event.originator_id),), {"version": event.originator_version})

    def _erased(self, w: Writes, event: Subject.Erased, position: int) -> None:
        sid = str(event.originator_id)
        w.execute(
            "UPDATE subject_profiles SET name = NULL, email = NULL, phone = NULL, erased = 1, "
            "updated_at = %s, version = %s WHERE id = %s",
            (micros(event.timestamp), event.originator_version, sid),
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
