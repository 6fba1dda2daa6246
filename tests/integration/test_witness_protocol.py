"""The witness's answers (C2SP tlog-witness), each case through a real HTTP server and client."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.witnesses.client import add_checkpoint, request_body
from api.witnesses.server import witness_app
from api.witnesses.state import WitnessState, witness_key
from projections.merkle_log.proof_paths import consistency_proof
from projections.merkle_log.rfc9162 import EMPTY_ROOT, leaf_hash, root_from_leaf_hashes
from projections.merkle_log.signed_notes import (
    COSIGNATURE_V1, Note, Signature, parse_note, verifier_for,
)
from projections.merkle_log.tlog_checkpoint import (
    CheckpointBody, cosignature_time, log_verifier, sign_checkpoint_note,
)
from tests.reliability.test_input_beyond_the_schema import served

WITNESS = "witness.test/w1"


class Log:
    """A log of our own making: its leaves, key and signed checkpoint notes."""

    def __init__(self, origin: str, leaves: int = 0) -> None:
        self.origin, self.key = origin, Ed25519PrivateKey.generate()
        self.leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(leaves)]

    @property
    def vkey(self) -> str:
        return log_verifier(self.origin, self.key).vkey()

    def grow(self, count: int) -> None:
        self.leaves += [leaf_hash(f"leaf {len(self.leaves) + i}".encode()) for i in range(count)]

    def note(self, size: int | None = None, root: bytes | None = None) -> str:
        size = len(self.leaves) if size is None else size
        root = root_from_leaf_hashes(self.leaves[:size]) if root is None else root
        body = CheckpointBody(self.origin, size, root)
        return Note(body.text(), (sign_checkpoint_note(body, self.key),)).render()

    def proof(self, old: int, size: int | None = None) -> list[bytes]:
        size = len(self.leaves) if size is None else size
        return [] if old in (0, size) else consistency_proof(old, size, self.leaves)


class WitnessServer:
    def __init__(self, url: str, directory: Path) -> None:
        self.url, self.directory = url, directory
        self.verifier = verifier_for(WITNESS, witness_key(directory), COSIGNATURE_V1)

    def post(self, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/add-checkpoint", content=body, timeout=10)

    def submit(self, log: Log, old: int, proof: list[bytes] | None = None,
               note: str | None = None) -> httpx.Response:
        proof = log.proof(old) if proof is None else proof
        return self.post(request_body(old, proof, log.note() if note is None else note))

    def checkpoint(self, log: Log) -> httpx.Response:
        digest = hashlib.sha256(log.origin.encode()).hexdigest()
        return httpx.get(f"{self.url}/{digest}/checkpoint", timeout=10)


@pytest.fixture
def logs() -> tuple[Log, Log]:
    return Log("log.test/one", 5), Log("log.test/two", 3)


def start(directory: Path, *logs: Log):  # a context manager: the witness, served
    key = witness_key(directory)
    app = witness_app(WitnessState(directory), WITNESS, key, [log_verifier(l.origin, l.key) for l in logs])
    return served(app)


@pytest.fixture
def witness(tmp_path: Path, logs: tuple[Log, Log]) -> Iterator[WitnessServer]:
    with start(tmp_path / "witness", *logs) as url:
        yield WitnessServer(url, tmp_path / "witness")


def test_a_first_checkpoint_is_cosigned_and_served_with_the_logs_signature(witness, logs) -> None:
    log = logs[0]
    answer = witness.submit(log, 0)
    assert answer.status_code == 200, answer.text
    assert answer.text.startswith("\u2014 witness.test/w1 ") and answer.text.endswith("\n")
    cosigned = parse_note(log.note() + answer.text)
    assert cosignature_time(cosigned, witness.verifier) is not None

    served_note = parse_note(witness.checkpoint(log).text)
    assert served_note.text == parse_note(log.note()).text
    assert served_note.by(log_verifier(log.origin, log.key))
    assert cosignature_time(served_note, witness.verifier) is not None


def test_a_grown_log_is_cosigned_with_a_consistency_proof_and_the_client_reads_the_answer(witness, logs) -> None:
    log = logs[0]
    assert witness.submit(log, 0).status_code == 200
    log.grow(4)
    answer = add_checkpoint(witness.url, 5, log.proof(5), log.note(), timeout=10)
    assert answer.cosigned and answer.signatures[0].name == WITNESS
    assert parse_note(witness.checkpoint(log).text).text.split("\n")[1] == "9"


def test_a_stale_old_size_is_409_with_the_witnesses_size(witness, logs) -> None:
    log = logs[0]
    witness.submit(log, 0)
    log.grow(4)
    answer = witness.submit(log, 0)
    assert answer.status_code == 409
    assert answer.text == "5\n" and answer.headers["content-type"] == "text/x.tlog.size"
    parsed = add_checkpoint(witness.url, 3, log.proof(3), log.note(), timeout=10)
    assert (parsed.status, parsed.witness_size, parsed.cosigned) == (409, 5, False)


def test_a_proof_that_does_not_hold_is_422_and_the_witness_keeps_its_size(witness, logs) -> None:
    log = logs[0]
    witness.submit(log, 0)
    log.grow(4)
    proof = log.proof(5)
    proof[0] = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    assert witness.submit(log, 5, proof).status_code == 422
    rewritten = Log(log.origin, 9)  # another history under the same name and key
    rewritten.key = log.key
    rewritten.leaves[2] = leaf_hash(b"changed")
    assert witness.submit(rewritten, 5).status_code == 422
    assert parse_note(witness.checkpoint(log).text).text.split("\n")[1] == "5"


def test_the_same_size_with_another_root_is_422(witness, logs) -> None:
    log = logs[0]
    witness.submit(log, 0)
    other_root = log.note(5, root_from_leaf_hashes(log.leaves[:4] + [leaf_hash(b"x")]))
    assert witness.submit(log, 5, [], note=other_root).status_code == 422
    assert witness.submit(log, 5, []).status_code == 200  # the same root again: cosigned again


def test_a_proof_from_size_zero_and_a_size_zero_checkpoint_with_a_root_are_422(witness, logs) -> None:
    log = logs[1]
    assert witness.submit(log, 0, [log.leaves[0]]).status_code == 422
    assert witness.submit(log, 0, [], note=log.note(0, leaf_hash(b"x"))).status_code == 422
    assert witness.submit(log, 0, [], note=log.note(0, EMPTY_ROOT)).status_code == 200


def test_an_unknown_origin_is_404_and_an_untrusted_or_forged_signature_403(witness, logs) -> None:
    stranger = Log("log.test/stranger", 2)
    assert witness.submit(stranger, 0).status_code == 404
    impostor = Log(logs[0].origin, 5)  # the right name, another key
    assert witness.submit(impostor, 0).status_code == 403
    genuine = parse_note(logs[0].note())
    own = genuine.signatures[0]
    forged = Note(genuine.text, (Signature(own.name, own.key_id, bytes(64)),)).render()
    assert witness.submit(logs[0], 0, note=forged).status_code == 403
    assert witness.checkpoint(logs[0]).status_code == 404


@pytest.mark.parametrize("body", [
    b"old 6\n\n",  # an old size beyond the checkpoint's (the note is appended below)
    b"old 01\n\n", b"old -1\n\n", b"old 0\n", b"old 0\nnot base64!\n\n",
    b"old 0\n" + b"".join(base64.b64encode(bytes(32)) + b"\n" for _ in range(64)) + b"\n",
])
def test_malformed_requests_are_400(witness, logs, body: bytes) -> None:
    assert witness.post(body + logs[0].note().encode()).status_code == 400
    assert witness.post(b"old 0\n\nnot a note\n").status_code == 400


def test_a_body_over_64_kib_is_413(witness, logs) -> None:
    assert witness.post(b"old 0\n" + b"A" * 70_000 + b"\n\n").status_code == 413


def test_the_state_survives_a_restart(tmp_path: Path, logs) -> None:
    log = logs[0]
    directory = tmp_path / "witness"
    with start(directory, log) as url:
        assert WitnessServer(url, directory).submit(log, 0).status_code == 200
    before = (directory / "witness-state.json").read_text()
    with start(directory, log) as url:
        again = WitnessServer(url, directory)
        assert again.checkpoint(log).status_code == 200
        assert again.submit(log, 0).text == "5\n"
    assert (directory / "witness-state.json").read_text() == before
    assert (directory / "witness-key.pem").stat().st_mode & 0o777 == 0o600


def test_concurrent_submissions_from_one_size_cosign_one_and_never_roll_back(witness, logs) -> None:
    log = logs[0]
    witness.submit(log, 0)
    log.grow(20)
    requests = [request_body(5, log.proof(5, size), log.note(size)) for size in range(6, 26)]
    answers: list[httpx.Response] = [None] * len(requests)  # type: ignore[list-item]
    barrier = threading.Barrier(len(requests))

    def send(i: int) -> None:
        barrier.wait()
        answers[i] = witness.post(requests[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [6 + i for i, a in enumerate(answers) if a.status_code == 200]
    assert len(won) == 1, [a.status_code for a in answers]
    assert {a.text for a in answers if a.status_code != 200} == {f"{won[0]}\n"}
    assert parse_note(witness.checkpoint(log).text).text.split("\n")[1] == str(won[0])
