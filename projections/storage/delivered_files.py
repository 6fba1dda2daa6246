"""The table of the exports handed over for access and portability requests (`delivered_exports`).

One row per request and file hash: the file's name and type and its bytes, sealed by the caller
(api/services/delivered_files.py seals them with the subject's data key), and until when it is
kept. Rows are found by request and hash, and forgotten by subject, or once past their time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from projections.storage.database import Database
from projections.storage.sortable_stamps import from_sortable_stamp, sortable_stamp
from projections.storage.tables import Table, ensure_tables

DELIVERED_EXPORTS = Table(
    "delivered_exports",
    "request_id TEXT NOT NULL, sha256 TEXT NOT NULL, subject_id TEXT NOT NULL, "
    "format TEXT NOT NULL, media_type TEXT NOT NULL, filename TEXT NOT NULL, "
    "sealed {blob} NOT NULL, kept_until TEXT NOT NULL",
    key=("request_id", "sha256"),
    indexes=("delivered_exports_by_age ON delivered_exports (kept_until)",),
)
TABLE = DELIVERED_EXPORTS.name


@dataclass(frozen=True)
class SealedFile:
    subject_id: UUID
    format: str
    media_type: str
    filename: str
    sealed: bytes
    kept_until: datetime


class DeliveredFileRows:
    def __init__(self, db: Database) -> None:
        self.db = db
        ensure_tables(db, (DELIVERED_EXPORTS,))

    def put(self, request_id: UUID, sha256: str, file: SealedFile) -> None:
        """Stores the file, in place of any copy of the same request and hash."""
        with self.db.transaction() as cur:
            cur.execute(
                f"DELETE FROM {TABLE} WHERE request_id = %s AND sha256 = %s",
                (str(request_id), sha256),
            )
            cur.execute(
                f"INSERT INTO {TABLE} (request_id, sha256, subject_id, format, media_type, "
                "filename, sealed, kept_until) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (str(request_id), sha256, str(file.subject_id), file.format, file.media_type,
                 file.filename, file.sealed, sortable_stamp(file.kept_until)),
            )

    def discard(self, request_id: UUID, sha256: str) -> None:
        self.db.execute(
            f"DELETE FROM {TABLE} WHERE request_id = %s AND sha256 = %s",
            (str(request_id), sha256),
        )

    def get(self, request_id: UUID, sha256: str) -> SealedFile | None:
        row = self.db.fetchone(
            f"SELECT subject_id, format, media_type, filename, sealed, kept_until FROM {TABLE} "
            "WHERE request_id = %s AND sha256 = %s",
            (str(request_id), sha256),
        )
        if row is None:
            return None
        subject_id, fmt, media_type, filename, sealed, kept_until = row
        return SealedFile(UUID(subject_id), fmt, media_type, filename, bytes(sealed),
                          from_sortable_stamp(kept_until))

    def forget_subject(self, subject_id: UUID) -> int:
        return self.db.execute(f"DELETE FROM {TABLE} WHERE subject_id = %s", (str(subject_id),))

    def forget_kept_until(self, now: datetime) -> int:
        """Deletes the files kept until `now` or before; answers how many."""
        return self.db.execute(
            f"DELETE FROM {TABLE} WHERE kept_until <= %s", (sortable_stamp(now),)
        )

    def subjects(self) -> list[UUID]:
        """The subjects of whom a file is kept."""
        rows = self.db.fetchall(f"SELECT DISTINCT subject_id FROM {TABLE}")
        return [UUID(row[0]) for row in rows]
