"""`ledger verify --trusted-checkpoint FILE`: a checkpoint note an auditor kept, which the log must extend.

The stored checkpoints can only show that the stored rows agree with each other: a log wiped
and sealed again, or cut back to an earlier size, signs new checkpoints that agree with what is
left. A note the auditor kept from before (c2sp.org/tlog-checkpoint, as served) cannot be
rewritten with it: once its signature holds under this log's key and name, the tree rebuilt
from the stored leaves must have at least its size, and the same root at that size.
"""

from __future__ import annotations

from dataclasses import dataclass

from projections.audit.report import BAD_SIGNATURE, CHANGED, MISSING, TRUNCATED, Problem
from projections.merkle_log.notes import stored_origin
from projections.merkle_log.signed_notes import Note, NoteError, parse_note, signed_by
from projections.merkle_log.store import checkpoint_at
from projections.merkle_log.tlog_checkpoint import CheckpointBody, log_verifier, parse_checkpoint
from projections.storage.database import Database


class UnusableNote(ValueError):
    """The file is no checkpoint note at all (the auditor's input, not the log, is wrong)."""


@dataclass(frozen=True)
class Trusted:
    note: Note
    body: CheckpointBody

    @property
    def tree_size(self) -> int:
        return self.body.tree_size

    @property
    def where(self) -> str:
        return f"the trusted checkpoint of tree size {self.tree_size}"


def read_trusted(text: str) -> Trusted:
    """The kept note, parsed; UnusableNote says why it is none."""
    try:
        note = parse_note(text)
        return Trusted(note, parse_checkpoint(note.text))
    except (NoteError, UnicodeError) as error:
        raise UnusableNote(f"not a C2SP checkpoint note: {error}") from None


def vouched(trusted: Trusted, db: Database, public_key: object) -> Problem | None:
    """Whether the note is this log's: its origin is this store's log's, and its signature
    holds under the log's verifier key. A problem when it does not (or None)."""
    origin = stored_origin(db)
    if origin != trusted.body.origin:
        return Problem(
            CHANGED, 0, None,
            f"the note is of the log {trusted.body.origin!r}, but this store's log is "
            f"{origin!r}: the log was replaced (wiped and set up again) or this is another log",
            where=trusted.where,
        )
    try:
        holds = signed_by(trusted.note, log_verifier(origin, public_key))
    except NoteError as error:
        holds, why = False, str(error)
    else:
        why = "it carries no signature by this log's key"
    if not holds:
        return Problem(
            BAD_SIGNATURE, max(trusted.tree_size - 1, 0), None,
            f"the note's signature does not hold under this log's key ({why})",
            where=trusted.where,
        )
    return None


def compare(trusted: Trusted, size: int, root: bytes, db: Database) -> list[Problem]:
    """The rebuilt tree at the note's size (`size` equal to it, `root` its root)."""
    problems = []
    if root != trusted.body.root_hash:
        problems.append(Problem(
            CHANGED, trusted.tree_size - 1, None,
            f"the first {size} stored leaves hash to {root.hex()}, not to the kept root "
            f"{trusted.body.root_hash.hex()}: the log was rewritten before position {size}",
            where=trusted.where,
        ))
    if checkpoint_at(db, trusted.tree_size) is None:
        problems.append(Problem(
            MISSING, trusted.tree_size - 1, None,
            f"the log signed a checkpoint of tree size {trusted.tree_size} and "
            "merkle_checkpoints no longer holds it (row deleted)",
            where=trusted.where,
        ))
    return problems


def truncated(trusted: Trusted, leaves: int) -> Problem:
    return Problem(
        TRUNCATED, leaves, None,
        f"the log holds {leaves} sealed leaves, fewer than the {trusted.tree_size} this "
        "checkpoint vouched for: it was truncated",
        where=trusted.where,
    )
