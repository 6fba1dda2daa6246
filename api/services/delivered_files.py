"""The exports handed over for access and portability requests, kept a while, sealed.

An officer who fulfils a request with an export gets the file's hash recorded in the ledger
and needs the very same bytes to send on (and to download again if the first download
failed). Building the dossier again later would not give them: the request itself has
changed since (it is fulfilled now) and so has the export's own time. So the delivered bytes
are kept, but never in plaintext: they are sealed (AES-GCM) with the subject's own data key,
bound to the request and the hash, exactly like every other personal field. Erasing the
subject, or purging their tenant, destroys that key and with it every kept copy; the sweep
then deletes the unreadable rows, and any row older than `KEPT_FOR`. The rows themselves are
projections/storage/delivered_files.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.clock import Clock
from domain.deadlines import has_lapsed
from domain.ledger.keys import KeyStore
from projections.storage.database import Database
from projections.storage.delivered_files import TABLE, DeliveredFileRows, SealedFile

from api.services.export_formats import Export, sha256_hex

KEPT_FOR = timedelta(days=30)


class DeliveryGone(Exception):
    """The kept copy is no longer there: past its time, or the subject's key is gone."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class KeptFile:
    export: Export
    kept_until: datetime


def _aad(request_id: UUID, sha256: str) -> bytes:
    return f"{TABLE}|{request_id}|{sha256}".encode()


class DeliveredFiles:
    def __init__(self, db: Database, keys: KeyStore, clock: Clock) -> None:
        self.rows = DeliveredFileRows(db)
        self.keys = keys
        self.clock = clock

    def keep(self, request_id: UUID, subject_id: UUID, export: Export) -> datetime | None:
        """Seals and stores the bytes; None (nothing kept) when the subject has no key left,
        e.g. an access request of someone already erased, whose export holds only "[erased]"."""
        key = self.keys.get(subject_id)
        if key is None:
            return None
        nonce = os.urandom(12)
        sealed = nonce + AESGCM(key).encrypt(nonce, export.content, _aad(request_id, export.sha256))
        kept_until = self.clock.now() + KEPT_FOR
        self.rows.put(request_id, export.sha256, SealedFile(
            subject_id, export.format, export.media_type, export.filename, sealed, kept_until,
        ))
        return kept_until

    def discard(self, request_id: UUID, sha256: str) -> None:
        """For a delivery the ledger refused to record: its copy must not stay behind."""
        self.rows.discard(request_id, sha256)

    def fetch(self, request_id: UUID, sha256: str) -> KeptFile:
        """The bytes whose hash the ledger recorded; DeliveryGone when they cannot be given."""
        file = self.rows.get(request_id, sha256)
        if file is None or has_lapsed(file.kept_until, self.clock.now()):
            raise DeliveryGone(
                "no copy of this delivery is kept: the ledger keeps the exports it built "
                f"itself for {KEPT_FOR.days} days, and never after the subject's erasure"
            )
        key = self.keys.get(file.subject_id)
        if key is None:
            raise DeliveryGone("the subject was erased: the delivered export went with them")
        sealed = file.sealed
        try:
            content = AESGCM(key).decrypt(sealed[:12], sealed[12:], _aad(request_id, sha256))
        except InvalidTag:
            raise DeliveryGone("the kept copy does not open: it was altered") from None
        if sha256_hex(content) != sha256:  # cannot happen unless the AEAD was broken
            raise DeliveryGone("the kept copy does not match the recorded hash")
        export = Export(content, file.media_type, file.filename, file.format)
        return KeptFile(export, file.kept_until)

    def forget_subject(self, subject_id: UUID) -> int:
        """At the subject's erasure: the copies could no longer be opened anyway."""
        return self.rows.forget_subject(subject_id)

    def forget_expired(self, now: datetime | None = None) -> int:
        """Deletes copies past their time and copies whose subject's key is gone (erased, or
        the tenant purged): unreadable ciphertext is no use to anyone. Returns how many."""
        gone = self.rows.forget_kept_until(now or self.clock.now())
        for subject in self.rows.subjects():
            if self.keys.get(subject) is None:
                gone += self.forget_subject(subject)
        return gone
