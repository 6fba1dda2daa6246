"""Asking a witness to cosign (c2sp.org/tlog-witness add-checkpoint), and reading its answer.

    200  one or more signature lines: the cosignatures (checked by the caller with the
         witness's verifier key, tlog_checkpoint.cosignature_time)
    409  `text/x.tlog.size`: the size the witness last cosigned; ask again from there
    else a refusal: its status and the first line of its body
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from projections.merkle_log.signed_notes import NoteError, Signature, parse_signature_line

SIZE_MEDIA_TYPE = "text/x.tlog.size"
MAX_DETAIL = 300  # of a refusal's body, kept in the witness status and shown to auditors


class WitnessUnreachable(Exception):
    """No HTTP answer: refused connection, timeout, a broken answer."""


@dataclass(frozen=True)
class Answer:
    status: int
    signatures: list[Signature] = field(default_factory=list)
    witness_size: int | None = None  # a 409's: the size the witness last cosigned
    detail: str = ""

    @property
    def cosigned(self) -> bool:
        return self.status == 200 and bool(self.signatures)


def request_body(old_size: int, proof: Sequence[bytes], note_text: str) -> bytes:
    lines = [f"old {old_size}\n", *(base64.b64encode(p).decode() + "\n" for p in proof), "\n"]
    return "".join(lines).encode() + note_text.encode()


def add_checkpoint(
    url: str, old_size: int, proof: Sequence[bytes], note_text: str, timeout: float,
    client: httpx.Client | None = None,
) -> Answer:
    """POST `note_text` (the whole signed note) to `url`/add-checkpoint. Raises
    WitnessUnreachable when there is no answer to read."""
    body = request_body(old_size, proof, note_text)
    try:
        if client is None:
            response = httpx.post(f"{url}/add-checkpoint", content=body, timeout=timeout)
        else:
            response = client.post(f"{url}/add-checkpoint", content=body, timeout=timeout)
    except httpx.HTTPError as error:
        raise WitnessUnreachable(f"{type(error).__name__}: {error}"[:MAX_DETAIL]) from None
    return parse_answer(response.status_code, response.headers.get("content-type", ""),
                        response.content)


def parse_answer(status: int, content_type: str, body: bytes) -> Answer:
    text = body.decode("utf-8", errors="replace")
    if status == 200:
        try:
            signatures = [parse_signature_line(line) for line in text.splitlines(keepends=True)]
        except NoteError as error:
            return Answer(status, detail=f"the witness answered 200 with no valid signature "
                          f"lines: {error}")
        return Answer(status, signatures)
    if status == 409:
        size = text.removesuffix("\n")
        if content_type.split(";")[0].strip() == SIZE_MEDIA_TYPE and size.isdigit():
            return Answer(status, witness_size=int(size), detail=f"the witness last cosigned size {size}")
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    return Answer(status, detail=first_line[:MAX_DETAIL])
