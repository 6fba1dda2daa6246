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
from domain.visitor import PERSON, VISITOR
from domain.vocabulary import ConsentStatus
from projections.read_models.base import Among, Handler, Projection, Writer
from projections.read_models.sealed_columns import ColumnSealer, email_hash
from projections.read_models.tables import (
    CONSENT_HISTORY,
    EMAIL_LOOKUP,
    SUBJECT_CONSENTS,
    SUBJECT_PROFILES,
    micros,
)

PERSONAL = ("name", "email", "phone")
# What an erased profile keeps of its personal fields, and the subject's rows that go with them.
_ERASED = {"name": None, "email": None, "phone": None, "erased": 1}
_PER_SUBJECT = (SUBJECT_CONSENTS, CONSENT_HISTORY, EMAIL_LOOKUP)


class SubjectProfiles(Projection):
    name = "subject_profiles"
    version = 3  # 2: consent per channel; each profile's subject version. 3: kind (visitors)
    tables = (SUBJECT_PROFILES, SUBJECT_CONSENTS, CONSENT_HISTORY, EMAIL_LOOKUP)

    def __init__(self, sealer: ColumnSealer, lookup_key: bytes) -> None:
        self.sealer = sealer
        self.lookup_key = lookup_key

    def handlers(self) -> dict[type, Handler]:
        return {
            Subject.Registered: self._registered,
            Subject.Arrived: self._visitor_arrived,
            Subject.NoticeShown: self._seen,
            Subject.LinkedTo: self._seen,
            Subject.VisitorLinked: self._seen,
            Subject.Rectified: self._rectified,
            Subject.ConsentGiven: self._consent,
            Subject.ConsentWithdrawn: self._consent,
            Subject.RequestOpened: self._seen,
            Subject.RequestClosed: self._seen,
            Subject.PropagationConfirmed: self._seen,
            Subject.Erased: self._erased,
            Tenant.Purged: self._tenant_purged,
        }

    def _seal(self, subject_id: str, column: str, value: Any) -> str | None:
        return self.sealer.seal(subject_id, SUBJECT_PROFILES.name, (subject_id,), column, value)

    def _remember_email(
        self, w: Writer, subject_id: str, email: Any, position: int, *, new: bool = False
    ) -> None:
        """`new`: the subject was registered by this very event, so it has no lookup row to
        delete (and a delete would first send every row the batch holds, for nothing)."""
        if not new:
            w.delete_where(EMAIL_LOOKUP, {"subject_id": subject_id})
        # An email that replays as "[erased]" has no lookup; nor has one whose key is gone.
        if isinstance(email, str) and email != ERASED and self.sealer.has_key(subject_id):
            w.insert(EMAIL_LOOKUP, {
                "email_hash": email_hash(self.lookup_key, email), "subject_id": subject_id,
                "position": position,
            })

    def _registered(self, w: Writer, event: Subject.Registered, position: int) -> None:
        sid = str(event.originator_id)
        at = micros(event.timestamp)
        w.insert(SUBJECT_PROFILES, {
            "id": sid, "tenant_id": _str(event.tenant_id),
            "name": self._seal(sid, "name", event.name),
            "email": self._seal(sid, "email", event.email),
            "phone": self._seal(sid, "phone", event.phone),
            "erased": 0, "created_at": at, "updated_at": at, "position": position,
            "version": event.originator_version, "kind": PERSON,
        })
        self._remember_email(w, sid, event.email, position, new=True)

    def _visitor_arrived(self, w: Writer, event: Subject.Arrived, position: int) -> None:
        """A website visitor (domain/visitor.py): a profile with no name, e-mail or phone, and
        so no e-mail lookup."""
        at = micros(event.timestamp)
        w.insert(SUBJECT_PROFILES, {
            "id": str(event.originator_id), "tenant_id": _str(event.tenant_id), "name": None,
            "email": None, "phone": None, "erased": 0, "created_at": at, "updated_at": at,
            "position": position, "version": event.originator_version, "kind": VISITOR,
        })

    def _rectified(self, w: Writer, event: Subject.Rectified, position: int) -> None:
        sid = str(event.originator_id)
        corrected = {
            column: self._seal(sid, column, getattr(event, column))
            for column in PERSONAL if getattr(event, column) is not None
        }
        w.update_where(SUBJECT_PROFILES, {"id": sid, "erased": 0}, {
            **corrected, "updated_at": micros(event.timestamp),
            "version": event.originator_version,
        })
        if event.email is not None:
            self._remember_email(w, sid, event.email, position)

    def _consent(self, w: Writer, event: Any, position: int) -> None:
        """The most frequent event: three held rows, which a batch sends as one statement per
        table (the last decision per purpose and channel, and the last `updated_at` and
        version per subject, win). A decision for every channel is kept under "*"; which
        decision stands for a channel is domain/consent.py's rule, applied when read."""
        sid = str(event.originator_id)
        given = isinstance(event, Subject.ConsentGiven)
        status = ConsentStatus.GIVEN if given else ConsentStatus.WITHDRAWN
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

    def _seen(self, w: Writer, event: Any, position: int) -> None:
        """An event that changes nothing shown here still moves the profile's version."""
        w.update(SUBJECT_PROFILES, (str(event.originator_id),), {"version": event.originator_version})

    def _erased(self, w: Writer, event: Subject.Erased, position: int) -> None:
        sid = str(event.originator_id)
        w.update_where(SUBJECT_PROFILES, {"id": sid}, {
            **_ERASED, "updated_at": micros(event.timestamp), "version": event.originator_version,
        })
        for table in _PER_SUBJECT:
            w.delete_where(table, {"subject_id": sid})

    def _tenant_purged(self, w: Writer, event: Tenant.Purged, position: int) -> None:
        """The application shreds the keys of all the tenant's subjects; their rows go too."""
        of_tenant = Among(SUBJECT_PROFILES, "id", {"tenant_id": str(event.originator_id)})
        for table in _PER_SUBJECT:
            w.delete_where(table, {"subject_id": of_tenant})
        w.update_where(
            SUBJECT_PROFILES, {"tenant_id": str(event.originator_id), "erased": 0},
            {**_ERASED, "updated_at": micros(event.timestamp)},
        )


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
