"""Asking the configured witnesses to cosign each new checkpoint (LEDGER_WITNESSES).

A background thread in the process that is the sealer (`Sealer.active`: always on SQLite, the
lock holder on PostgreSQL) takes the latest checkpoint note and sends it to each witness that
has not cosigned it, with a consistency proof from the size that witness last cosigned. A 409
names the witness's size: the proof is built from there and the request sent once more. A
returned cosignature is kept (merkle_cosignatures, so the served note carries it) only when it
holds under the witness's configured key. Every outcome is recorded (status.py).

A witness that has seen more leaves than this log holds cannot be shown any proof: that is
recorded as it is ("the witness has seen N leaves, this log only M") and the witness not asked.
A refused checkpoint is asked about again after `retry_after` seconds, a new one at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from api.transparency_settings import Witness
from api.witnesses.client import Answer, WitnessUnreachable, add_checkpoint
from api.witnesses.status import read_status, record_attempt
from domain.errors import DomainError
from projections.merkle_log.notes import cosigned_sizes, note_at, save_cosignature
from projections.merkle_log.proofs import Proofs, TreeDamaged
from projections.merkle_log.signed_notes import Note, NoteError
from projections.merkle_log.tlog_checkpoint import cosignature_time, log_verifier, parse_checkpoint
from projections.storage.database import Database
from projections.storage.follower import FollowingThread, keep_following, report_failure

log = logging.getLogger("ledger.witnesses")
STANDBY_SECONDS = 1.0  # how often a process that is not the sealer looks again


class WitnessSubmitter:
    def __init__(
        self, db: Database, log_key: object, witnesses: Sequence[Witness], timeout: float,
        active: Callable[[], bool], *, poll_interval: float = 0.25, retry_after: float = 30.0,
        unreachable_retry: float = 5.0,
    ) -> None:
        """`log_key` is the log's Ed25519 key (private or public); `active` says whether this
        process is the sealer now."""
        self.db, self.log_key, self.witnesses, self.timeout = db, log_key, list(witnesses), timeout
        self.active, self.poll_interval = active, poll_interval
        self.retry_after, self.unreachable_retry = retry_after, unreachable_retry
        self._asked: dict[str, tuple[int, float, str]] = {}  # name → (size, when, outcome)
        self._following = FollowingThread("witness-submitter")

    def start(self) -> None:
        if self.witnesses and self._following.thread is None:
            self._following.start(lambda: keep_following(
                self._following.stopping, self._step, self._failed))

    def stop(self, timeout: float = 10.0) -> None:
        self._following.stop(timeout + self.timeout)

    def _step(self) -> float:
        if not self.active():
            return STANDBY_SECONDS
        self.submit_latest()
        return self.poll_interval

    def _failed(self, error: Exception, in_a_row: int) -> float:
        report_failure(log, error, "asking witnesses failed; retrying", paused="asking witnesses paused")
        return min(self.poll_interval * 2**in_a_row, self.retry_after)

    def submit_latest(self, *, force: bool = False) -> None:
        """One pass: the latest note to every witness that lacks it and is due to be asked."""
        note = note_at(self.db, self.log_key)
        if note is None:
            return
        body = parse_checkpoint(note.text)
        own = note.by(log_verifier(body.origin, self.log_key))
        submitted = Note(note.text, tuple(own)).render()  # the log's signature alone
        for witness in self.witnesses:
            if holds(note, witness) or not (force or self._due(witness.name, body.tree_size)):
                continue
            outcome = self._ask(witness, note.text, submitted, body.tree_size)
            self._asked[witness.name] = (body.tree_size, time.monotonic(), outcome)

    def _due(self, name: str, size: int) -> bool:
        asked = self._asked.get(name)
        if asked is None:
            return True
        asked_size, when, outcome = asked
        if outcome == "unreachable":
            return time.monotonic() - when >= self.unreachable_retry
        return asked_size != size or time.monotonic() - when >= self.retry_after

    def _ask(self, witness: Witness, text: str, submitted: str, size: int) -> str:
        status = read_status(self.db, witness.name)
        old = status.witness_size if status and status.witness_size is not None else (
            cosigned_sizes(self.db, witness.verifier) or 0)
        for attempt in (1, 2):
            if old > size:
                return self._record(witness, "inconsistent", witness_size=old, detail=(
                    f"the witness has seen {old} leaves, this log only {size}"))
            try:
                proof = [] if old in (0, size) else Proofs(self.db).consistency(old, size).path
            except (TreeDamaged, DomainError) as error:
                return self._record(witness, "failed", detail=(
                    f"no consistency proof from {old} to {size}: {error}"))
            try:
                answer = add_checkpoint(witness.url, old, proof, submitted, self.timeout)
            except WitnessUnreachable as error:
                return self._record(witness, "unreachable", detail=str(error))
            if answer.status == 409 and answer.witness_size is not None and attempt == 1:
                old = answer.witness_size
                continue
            return self._answered(witness, text, size, answer)
        raise AssertionError("unreachable: the second attempt always returns")

    def _answered(self, witness: Witness, text: str, size: int, answer: Answer) -> str:
        if not answer.cosigned:
            return self._record(witness, "refused", status=answer.status,
                                witness_size=answer.witness_size, detail=answer.detail)
        answered = Note(text, tuple(answer.signatures))
        try:
            cosigned_at = cosignature_time(answered, witness.verifier)
        except NoteError as error:
            cosigned_at, problem = None, str(error)
        else:
            problem = "its answer holds no cosignature by its configured key"
        if cosigned_at is None:
            return self._record(witness, "refused", status=answer.status, detail=problem)
        save_cosignature(self.db, size, answered.by(witness.verifier)[0], cosigned_at)
        return self._record(witness, "cosigned", status=200, witness_size=size,
                            cosigned_size=size, detail=f"cosigned size {size}")

    def _record(self, witness: Witness, outcome: str, **details: object) -> str:
        at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        kept = record_attempt(self.db, witness.name, outcome, at, **details)  # type: ignore[arg-type]
        if outcome == "cosigned":
            log.info("witness %s %s", witness.name, kept.detail)
        else:
            log.warning("witness %s: %s (%s)", witness.name, outcome, kept.detail)
        return outcome


def holds(note: Note, witness: Witness) -> bool:
    """Whether the note carries the witness's cosignature and it holds. One kept for another
    checkpoint of this size (a log that was wiped and resealed) does not: ask again."""
    try:
        return cosignature_time(note, witness.verifier) is not None
    except NoteError:
        return False


def start_submitter(db: Database, log_key: object, witnesses: Sequence[Witness], timeout: float,
                    active: Callable[[], bool]) -> WitnessSubmitter | None:
    """The submitter, started; None (nothing runs) when no witness is configured."""
    if not witnesses:
        return None
    submitter = WitnessSubmitter(db, log_key, witnesses, timeout, active)
    submitter.start()
    return submitter
