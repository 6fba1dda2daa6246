"""The ledger's side of witnessing: what it keeps of a witness's answer, and what verify says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api import keyfiles
from api.bootstrap import Stores, make_sealer, open_stores
from api.settings import Settings
from api.transparency_settings import Witness
from api.witnesses.server import witness_app
from api.witnesses.state import WitnessState
from api.witnesses.status import read_status
from api.witnesses.submitter import WitnessSubmitter
from projections.audit.witness_check import witness_problems
from projections.merkle_log.notes import note_at, save_cosignature
from projections.merkle_log.signed_notes import COSIGNATURE_V1, Signature, verifier_for
from projections.merkle_log.tlog_checkpoint import cosignature_time, log_verifier, parse_checkpoint
from tests.conftest import make_settings
from tests.reliability.test_input_beyond_the_schema import served


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[tuple[Stores, Settings]]:
    settings = make_settings(f"sqlite:///{tmp_path}/l.sqlite", tmp_path / "var")
    stores = open_stores(settings)
    try:
        yield stores, settings
    finally:
        stores.close()


def grow(stores: Stores, settings: Settings, subjects: int) -> int:
    tenant = stores.ledger.open_tenant("Acme", "olga").aggregate.id
    for i in range(subjects):
        stores.ledger.register_subject(f"P {i}", f"p{i}@example.org", "crm", tenant)
    sealer = make_sealer(stores, settings)
    sealer.seal_pending()
    sealer.stop()
    note = note_at(stores.db, keyfiles.signing_key(settings))
    assert note is not None
    return parse_checkpoint(note.text).tree_size


def serve_witness(tmp_path: Path, stores: Stores, settings: Settings, name: str,
                  key: Ed25519PrivateKey):
    note = note_at(stores.db, keyfiles.signing_key(settings))
    origin = parse_checkpoint(note.text).origin
    log = log_verifier(origin, keyfiles.signing_key(settings))
    return served(witness_app(WitnessState(tmp_path / name), name, key, [log]))


def test_a_cosignature_by_another_key_than_the_configured_one_is_not_kept_and_a_forged_one_is_named(
    ledger, tmp_path: Path
) -> None:
    stores, settings = ledger
    grow(stores, settings, 3)
    honest_key, configured_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    honest = verifier_for("w.test/honest", honest_key, COSIGNATURE_V1)
    impostor = verifier_for("w.test/impostor", configured_key, COSIGNATURE_V1)
    with serve_witness(tmp_path, stores, settings, honest.name, honest_key) as honest_url, \
            serve_witness(tmp_path, stores, settings, impostor.name, Ed25519PrivateKey.generate()) as other_url:
        witnesses = [Witness(honest, honest_url), Witness(impostor, other_url)]
        key = keyfiles.signing_key(settings)
        WitnessSubmitter(stores.db, key, witnesses, 5, lambda: True).submit_latest()

    note = note_at(stores.db, key)
    assert cosignature_time(note, honest) is not None and note.by(impostor) == []
    status = read_status(stores.db, impostor.name)
    assert (status.last_outcome, status.detail) == (
        "refused", "its answer holds no cosignature by its configured key")
    vkeys = [honest.vkey(), impostor.vkey()]
    assert witness_problems(stores.db, key, vkeys, quorum=1) == []
    size = parse_checkpoint(note.text).tree_size
    assert witness_problems(stores.db, key, vkeys) == [
        f"1 of 2 witnesses cosigned the latest checkpoint (size {size}); 2 needed",
        f"witness w.test/impostor did not cosign the latest checkpoint (size {size}); "
        "it never cosigned one here",
    ]

    save_cosignature(stores.db, size, Signature(impostor.name, impostor.key_id, bytes(72)), 1)
    assert witness_problems(stores.db, key, vkeys, quorum=1) == [
        f"witness w.test/impostor's cosignature of the latest checkpoint (size {size}) does not "
        "hold: it is forged"
    ]


def test_a_ledger_that_forgot_the_witnesses_size_learns_it_from_the_409_and_proves_from_there(
    ledger, tmp_path: Path
) -> None:
    stores, settings = ledger
    first = grow(stores, settings, 3)
    witness_key = Ed25519PrivateKey.generate()
    verifier = verifier_for("w.test/one", witness_key, COSIGNATURE_V1)
    key = keyfiles.signing_key(settings)
    with serve_witness(tmp_path, stores, settings, verifier.name, witness_key) as url:
        submitter = WitnessSubmitter(stores.db, key, [Witness(verifier, url)], 5, lambda: True)
        submitter.submit_latest()
        stores.db.execute("DELETE FROM witness_status")  # as after restoring an older backup
        stores.db.execute("DELETE FROM merkle_cosignatures")
        second = grow(stores, settings, 4)
        submitter.submit_latest()

    assert cosignature_time(note_at(stores.db, key), verifier) is not None
    status = read_status(stores.db, verifier.name)
    assert (status.last_outcome, status.witness_size, first < second) == ("cosigned", second, True)
