"""`ledger verify --witness VKEY ... [--quorum K]`: did enough witnesses cosign the latest checkpoint?

A witness cosigns only a checkpoint consistent with every one it cosigned before, so a log
that was wiped and resealed, or truncated and regrown, loses its witnesses' cosignatures: the
latest note then lacks them, and each missing witness is named with the largest size it
cosigned here, the history it vouched for. A cosignature that is present but does not hold is
a forgery and always a problem, whatever the quorum.
"""

from __future__ import annotations

from projections.merkle_log.notes import cosigned_sizes, note_at
from projections.merkle_log.signed_notes import COSIGNATURE_V1, NoteError, Verifier, parse_vkey, signed_by
from projections.merkle_log.tlog_checkpoint import cosignature_time, log_verifier, parse_checkpoint
from projections.storage.database import Database


def witness_verifiers(vkeys: list[str]) -> list[Verifier]:
    """The witnesses' keys; NoteError (a usage error) for one that is not a cosignature/v1 vkey."""
    verifiers = [parse_vkey(text) for text in vkeys]
    for verifier in verifiers:
        if verifier.key_type != COSIGNATURE_V1:
            raise NoteError(f"--witness {verifier.name}: not a cosignature/v1 (0x04) verifier key")
    return verifiers


def witness_problems(
    db: Database, log_public_key: object, vkeys: list[str], quorum: int | None = None
) -> list[str]:
    """One line per problem; empty when at least `quorum` (default: all) of the witnesses
    cosigned the latest checkpoint and no cosignature is forged. Raises NoteError for a bad
    vkey and ValueError for a quorum outside 1..len(vkeys) (both usage errors)."""
    verifiers = witness_verifiers(vkeys)
    needed = len(verifiers) if quorum is None else quorum
    if not 1 <= needed <= len(verifiers):
        raise ValueError(f"--quorum must be between 1 and the number of witnesses ({len(verifiers)})")
    note = note_at(db, log_public_key)
    if note is None:
        return ["there is no signed checkpoint note, so no witness cosigned one"]
    body = parse_checkpoint(note.text)
    problems: list[str] = []
    try:
        if not signed_by(note, log_verifier(body.origin, log_public_key)):
            problems.append(f"the latest checkpoint (size {body.tree_size}) lacks the log's signature")
    except NoteError as error:
        problems.append(f"the latest checkpoint (size {body.tree_size}): {error}")
    missing: list[Verifier] = []
    cosigned = 0
    for verifier in verifiers:
        try:
            when = cosignature_time(note, verifier)
        except NoteError:
            problems.append(f"witness {verifier.name}'s cosignature of the latest checkpoint "
                            f"(size {body.tree_size}) does not hold: it is forged")
            continue
        if when is None:
            missing.append(verifier)
        else:
            cosigned += 1
    if cosigned < needed:
        problems.append(f"{cosigned} of {len(verifiers)} witnesses cosigned the latest "
                        f"checkpoint (size {body.tree_size}); {needed} needed")
        for verifier in missing:
            largest = cosigned_sizes(db, verifier)
            since = "it never cosigned one here" if largest is None else (
                f"the largest size it cosigned here is {largest}")
            problems.append(f"witness {verifier.name} did not cosign the latest checkpoint "
                            f"(size {body.tree_size}); {since}")
    return problems
