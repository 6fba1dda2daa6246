"""What a witness checks before it cosigns (c2sp.org/tlog-witness, add-checkpoint), without HTTP.

A request body is an old size line, at most 63 base64 consistency proof lines, a blank line and
the log's signed checkpoint note. Each refusal carries the status the spec gives it (server.py
answers with it): 400 malformed, 403 no valid signature by a trusted key, 404 unknown origin,
409 old size not what this witness cosigned last (with that size), 422 a proof or root that
does not hold.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.witnesses.state import Cosigned, WitnessState
from projections.merkle_log.rfc9162 import EMPTY_ROOT, HASH_SIZE, verify_consistency
from projections.merkle_log.signed_notes import Note, NoteError, Signature, Verifier, parse_note, signed_by
from projections.merkle_log.tlog_checkpoint import CheckpointBody, cosign, parse_checkpoint

MAX_PROOF_LINES = 63
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")
log = logging.getLogger("ledger.witness")


class Refusal(Exception):
    def __init__(self, status: int, detail: str, size: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.size = status, detail, size


@dataclass(frozen=True)
class Submission:
    old_size: int
    proof: list[bytes]
    note: Note
    checkpoint: CheckpointBody


def parse_submission(body: bytes) -> Submission:
    """The request body, or Refusal(400) naming what is malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "the body is not UTF-8 text") from None
    head, blank, note_text = text.partition("\n\n")
    if not blank:
        raise Refusal(400, "the body is an old size line, proof lines, a blank line and a checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise Refusal(400, "the first line must be 'old <size>', a decimal without leading zeros")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise Refusal(400, f"a consistency proof has at most {MAX_PROOF_LINES} lines")
    proof = [_proof_hash(line) for line in lines[1:]]
    try:
        note = parse_note(note_text)
        checkpoint = parse_checkpoint(note.text)
    except NoteError as error:
        raise Refusal(400, f"the checkpoint: {error}") from None
    return Submission(int(match.group(1)), proof, note, checkpoint)


def _proof_hash(line: str) -> bytes:
    try:
        decoded = base64.b64decode(line, validate=True)
    except binascii.Error:
        decoded = b""
    if len(decoded) != HASH_SIZE or base64.b64encode(decoded).decode() != line:
        raise Refusal(400, "each proof line is one 32-byte hash in standard base64")
    return decoded


class Witness:
    """One witness: its name and key, the logs it follows (origin → their keys), its state."""

    def __init__(
        self, name: str, key: Ed25519PrivateKey, logs: Sequence[Verifier], state: WitnessState,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.name, self.key, self.state, self.now = name, key, state, now
        self.logs: dict[str, list[Verifier]] = {}
        for verifier in logs:
            self.logs.setdefault(verifier.name, []).append(verifier)

    def add_checkpoint(self, submission: Submission) -> Signature:
        """The cosignature, once the checkpoint is persisted as the latest; Refusal otherwise."""
        body = submission.checkpoint
        trusted = self.logs.get(body.origin)
        if not trusted:
            raise Refusal(404, f"this witness does not follow the log {body.origin!r}")
        verified = self._log_signatures(submission.note, trusted)
        if submission.old_size > body.tree_size:
            raise Refusal(400, f"old size {submission.old_size} is beyond the checkpoint's "
                          f"size {body.tree_size}")
        if body.tree_size == 0 and body.root_hash != EMPTY_ROOT:
            raise Refusal(422, "a checkpoint of size 0 must have the empty tree's root")

        def check_and_record(logs: dict[str, Cosigned]) -> Signature:
            latest = logs.get(body.origin)
            self._check(submission, latest)
            signature = cosign(submission.note.text, self.name, self.key, int(self.now()))
            served = Note(submission.note.text, (*verified, signature))
            logs[body.origin] = Cosigned(body.tree_size, body.root_hash, served.render())
            return signature

        return self.state.update(check_and_record)

    def _log_signatures(self, note: Note, trusted: list[Verifier]) -> list[Signature]:
        """The note's signatures by the log's trusted keys, all of which must hold."""
        try:
            signers = [v for v in trusted if signed_by(note, v)]
        except NoteError as error:
            raise Refusal(403, str(error)) from None
        if not signers:
            raise Refusal(403, "the checkpoint carries no signature by a key this witness "
                          "trusts for its origin")
        return [s for v in signers for s in note.by(v)]

    def _check(self, submission: Submission, latest: Cosigned | None) -> None:
        body, old, proof = submission.checkpoint, submission.old_size, submission.proof
        stored = latest.size if latest else 0
        if old != stored:
            raise Refusal(409, f"this witness last cosigned size {stored}, not {old}", stored)
        if old == 0:
            if proof:
                raise Refusal(422, "from old size 0 the consistency proof must be empty")
            return
        assert latest is not None
        if old == body.tree_size and latest.root_hash != body.root_hash:
            self._evidence(body, latest, "the same size with another root")
            raise Refusal(422, f"size {old} was cosigned with another root hash")
        if not verify_consistency(old, body.tree_size, latest.root_hash, body.root_hash, proof):
            self._evidence(body, latest, "a consistency proof that does not hold")
            raise Refusal(422, f"the proof does not show the tree of {old} leaves this witness "
                          f"cosigned is a prefix of the tree of {body.tree_size}")

    @staticmethod
    def _evidence(body: CheckpointBody, latest: Cosigned, what: str) -> None:
        # The spec allows keeping it: a validly signed inconsistent checkpoint is proof of a
        # log's misbehaviour. The log shows it; its operators may keep it.
        log.warning("log %s signed %s: size %d after size %d; kept cosigning size %d",
                    body.origin, what, body.tree_size, latest.size, latest.size)
