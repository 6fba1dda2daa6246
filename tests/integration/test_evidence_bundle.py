"""`ledger audit bundle` writes a tenant's access-log events with proofs to a signed checkpoint,
and the bundle's own verify_bundle.py checks it in a venv that holds nothing but `cryptography`."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

import cryptography
from api import keyfiles
from api.bootstrap import Stores, make_sealer
from api.settings import Settings
from domain.clock import MovableClock
from domain.errors import AccessRefused
from projections.merkle_log.notes import note_at, save_cosignature
from projections.merkle_log.signed_notes import COSIGNATURE_V1, verifier_for
from projections.merkle_log.tlog_checkpoint import cosign, log_verifier, parse_checkpoint

WITNESS = "witness.customer.example/w1"
COSIGNED_AT = 1_767_600_000


@pytest.fixture(scope="session")
def fresh_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv without pip whose only extra packages are `cryptography` and what it loads
    (cffi), linked in through a .pth file: neither the ledger nor its dependencies import."""
    root = tmp_path_factory.mktemp("fresh")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    only = root / "only"
    only.mkdir()
    site = Path(cryptography.__file__).parent.parent
    for name in ("cryptography", "cffi", *(p.name for p in site.glob("_cffi_backend*"))):
        (only / name).symlink_to(site / name)
    (site_packages,) = (root / "venv").glob("lib/python*/site-packages")
    (site_packages / "only.pth").write_text(f"{only}\n")
    python = root / "venv" / "bin" / "python"
    for module, importable in (("cryptography", True), ("projections", False), ("typer", False)):
        found = subprocess.run(
            [str(python), "-c", f"import {module}"], cwd=root, env=_bare_env(), capture_output=True
        )
        assert (found.returncode == 0) is importable, module
    return python


def _bare_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def _verify(python: Path, bundle: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """verify_bundle.py as the auditor runs it: taken out of the bundle, in a folder of its own."""
    folder = bundle.parent / f"check-{bundle.stem}"
    folder.mkdir(exist_ok=True)
    script = folder / "verify_bundle.py"
    script.write_bytes(zipfile.ZipFile(bundle).read("verify_bundle.py"))
    return subprocess.run(
        [str(python), str(script), str(bundle), *args],
        cwd=folder, env=_bare_env(), capture_output=True, text=True, timeout=60,
    )


def _ledger(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    from api.cli.main import app
    from api.settings import get_settings

    monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LEDGER_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        get_settings.cache_clear()


def _history(stores: Stores, clock: MovableClock) -> dict[str, Any]:
    """Tenant A's accesses on day 0 and day 10, tenant B's on day 0 (never in A's bundle)."""
    ledger = stores.ledger
    a = ledger.open_tenant("Acme", "officer-1").aggregate.id
    b = ledger.open_tenant("Other", "officer-1").aggregate.id
    subject = ledger.register_subject("Zoë", "zoe@example.org", "app", a).aggregate.id
    grant = ledger.request_access(a, "staff-1", "read", ["subjects"], "ticket 7").aggregate.id
    ledger.approve_access(grant, "customer-1")
    ledger.use_access(grant, "staff-1", f"subjects/{subject}", "read")
    other = ledger.request_access(b, "staff-2", "read", ["x"], "ticket 8").aggregate.id
    ledger.approve_access(other, "customer-2")
    ledger.use_access(other, "staff-2", "x/1", "read")
    clock.move(days=10)
    ledger.record_disclosure(a, "Police NL", "court_order", "ORDER-1", "officer-1", [subject])
    ledger.record_vendor_read(subject, "officer-1", "officer", "profile", reason="complaint 12")
    denied = ledger.request_access(a, "staff-1", "export", ["subjects"], "ticket 9").aggregate.id
    ledger.deny_access(denied, "customer-1", "not needed")
    return {"a": a, "b": b, "grant": grant}


@pytest.fixture
def sealed(durable_stores: Stores, durable_settings: Settings, clock: MovableClock) -> Iterator[dict[str, Any]]:
    """The history sealed and cosigned by one witness, then one more (refused) access of A,
    not signed yet."""
    keyfiles.ensure_all(durable_settings)
    history = _history(durable_stores, clock)
    sealer = make_sealer(durable_stores, durable_settings)
    sealer.seal_pending()
    sealer.stop()
    key = keyfiles.signing_key(durable_settings)
    note = note_at(durable_stores.db, key)
    assert note is not None
    witness_key = Ed25519PrivateKey.generate()
    save_cosignature(durable_stores.db, parse_checkpoint(note.text).tree_size,
                     cosign(note.text, WITNESS, witness_key, COSIGNED_AT), COSIGNED_AT)
    with pytest.raises(AccessRefused):  # the grant ended days ago: the refusal is logged
        durable_stores.ledger.use_access(history["grant"], "staff-1", "subjects", "read")
    yield {
        **history,
        "vkey": log_verifier(parse_checkpoint(note.text).origin, key).vkey(),
        "witness": verifier_for(WITNESS, witness_key, COSIGNATURE_V1).vkey(),
    }


def _bundle(settings: Settings, monkeypatch: pytest.MonkeyPatch, out: Path, *args: str) -> Any:
    return _ledger(settings, monkeypatch, "audit", "bundle", *args, str(out))


def _events(bundle: Path) -> list[dict[str, Any]]:
    lines = zipfile.ZipFile(bundle).read("events.jsonl").decode().splitlines()
    return [json.loads(line) for line in lines]


def test_a_tenants_bundle_holds_its_access_log_events_and_verifies_with_its_own_script_alone(
    sealed: dict[str, Any], durable_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, fresh_python: Path,
) -> None:
    out = tmp_path / "evidence.zip"

    made = _bundle(durable_settings, monkeypatch, out, "--tenant", str(sealed["a"]))

    assert made.exit_code == 0, made.output
    assert "7 events" in made.output and "1 newer events are not signed yet" in made.output
    events = _events(out)
    assert [e["topic"].rsplit(":", 1)[1] for e in events] == [
        "AccessRequest.Requested", "AccessRequest.Approved", "AccessRequest.AccessRecorded",
        "Disclosure.Recorded", "VendorRead.Recorded", "AccessRequest.Requested",
        "AccessRequest.Denied",
    ]
    assert all(e["data"]["tenant_id"] == str(sealed["a"]) for e in events if "tenant_id" in e["data"])
    assert str(sealed["b"]) not in zipfile.ZipFile(out).read("events.jsonl").decode()
    assert "complaint 12" not in out.read_bytes().decode("latin-1")  # the sealed reason stays sealed
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["counts"] == {"events": 7, "newer_than_checkpoint": 1}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]

    checked = _verify(fresh_python, out, "--vkey", sealed["vkey"], "--witness", sealed["witness"])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith(f"OK: 7 events of tenant {sealed['a']}"), checked.stdout
    assert WITNESS in checked.stdout

    self_checked = _verify(fresh_python, out)
    assert self_checked.returncode == 0 and "only proves that the bundle agrees with itself" in self_checked.stdout


def test_since_and_until_pick_the_events_by_their_time(
    sealed: dict[str, Any], durable_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    later, earlier = tmp_path / "later.zip", tmp_path / "earlier.zip"
    tenant = str(sealed["a"])

    assert _bundle(durable_settings, monkeypatch, later, "--tenant", tenant, "--since", "2026-01-10").exit_code == 0
    assert _bundle(durable_settings, monkeypatch, earlier, "--tenant", tenant, "--until", "2026-01-10T00:00:00Z").exit_code == 0

    assert [e["topic"].rsplit(".", 1)[1] for e in _events(later)] == [
        "Recorded", "Recorded", "Requested", "Denied"]
    assert [e["topic"].rsplit(".", 1)[1] for e in _events(earlier)] == [
        "Requested", "Approved", "AccessRecorded"]


def _rewritten(bundle: Path, name: str, change: Any) -> Path:
    """A copy of the bundle with one member changed by `change(bytes) -> bytes`."""
    copy = bundle.with_name(f"{bundle.stem}-{name.replace('.', '-')}-{len(list(bundle.parent.iterdir()))}.zip")
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(copy, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, change(data) if item.filename == name else data)
    return copy


def _flip_in_first_event(field: str, mutate: Any) -> Any:
    def change(data: bytes) -> bytes:
        lines = data.decode().splitlines()
        first = json.loads(lines[0])
        first[field] = mutate(first[field])
        return "\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]).encode() + b"\n"
    return change


def _one_state_byte(state: str) -> str:
    raw = bytearray(base64.b64decode(state))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _one_proof_byte(path: list[str]) -> list[str]:
    first = bytearray.fromhex(path[0])
    first[0] ^= 0x01
    return [first.hex(), *path[1:]]


def _one_root_byte(note: bytes) -> bytes:
    root_line = note.index(b"\n", note.index(b"\n") + 1) + 1
    changed = bytearray(note)
    changed[root_line + 5] ^= 0x01
    return bytes(changed)


def test_one_changed_byte_of_a_state_a_proof_or_the_note_fails_and_so_does_a_wrong_key(
    sealed: dict[str, Any], durable_settings: Settings, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, fresh_python: Path,
) -> None:
    out = tmp_path / "evidence.zip"
    assert _bundle(durable_settings, monkeypatch, out, "--tenant", str(sealed["a"])).exit_code == 0
    first_id = _events(out)[0]["id"]
    changed_state = _rewritten(out, "events.jsonl", _flip_in_first_event("state", _one_state_byte))
    changed_proof = _rewritten(out, "events.jsonl", _flip_in_first_event("inclusion_path", _one_proof_byte))
    changed_note = _rewritten(out, "checkpoint.note", _one_root_byte)
    raw = bytearray(out.read_bytes())
    raw[60] ^= 0x01  # inside events.jsonl's compressed bytes: the zip itself is damaged
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(bytes(raw))
    other_log = log_verifier(sealed["vkey"].split("+")[0], Ed25519PrivateKey.generate()).vkey()

    published = ("--vkey", sealed["vkey"])
    for bundle, args, says in (
        (changed_state, published, f"event id {first_id} (leaf"),
        (changed_proof, published, "inclusion proof does not lead to the signed root"),
        (changed_note, published, "the log's signature on checkpoint.note does not hold"),
        (damaged, published, "is not a readable zip"),
        (out, ("--vkey", other_log), "no signature by the log key"),
        (out, ("--vkey", sealed["vkey"], "--witness", sealed["witness"],
               "--witness", verifier_for("w2.example/w", Ed25519PrivateKey.generate(), COSIGNATURE_V1).vkey()),
         "not cosigned by: w2.example/w"),
    ):
        checked = _verify(fresh_python, bundle, *args)
        assert checked.returncode == 1, (bundle.name, args, checked.stdout, checked.stderr)
        assert checked.stdout.startswith("FAILED") and says in checked.stdout, checked.stdout
        assert "Traceback" not in checked.stderr

    quorum = _verify(fresh_python, out, "--vkey", sealed["vkey"], "--witness", sealed["witness"],
                     "--witness", verifier_for("w2.example/w", Ed25519PrivateKey.generate(), COSIGNATURE_V1).vkey(),
                     "--quorum", "1")
    assert quorum.returncode == 0, quorum.stdout


def test_an_unknown_tenant_bad_dates_or_no_checkpoint_yet_is_exit_2_and_leaves_no_file(
    durable_stores: Stores, durable_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    keyfiles.ensure_all(durable_settings)
    tenant = str(durable_stores.ledger.open_tenant("Acme", "officer-1").aggregate.id)
    out = tmp_path / "evidence.zip"

    for args, says in (
        (("--tenant", "00000000-0000-4000-8000-000000000001"), "no tenant with id"),
        (("--tenant", "acme"), "not a tenant id"),
        (("--tenant", tenant, "--since", "last tuesday"), "not an ISO 8601 date"),
        (("--tenant", tenant, "--since", "2026-02-01", "--until", "2026-01-01"), "before --until"),
        (("--tenant", tenant), "no checkpoint has been signed"),
    ):
        result = _bundle(durable_settings, monkeypatch, out, *args)
        assert result.exit_code == 2, (args, result.output)
        assert says in result.output, (args, result.output)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".evidence", "evidence"))] == []


def test_a_log_that_cannot_prove_an_event_fails_the_bundle_and_leaves_no_half_written_file(
    sealed: dict[str, Any], durable_stores: Stores, durable_settings: Settings,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    durable_stores.db.execute("DELETE FROM merkle_leaves WHERE leaf_index = 0")  # a proof's sibling
    out = tmp_path / "evidence.zip"

    result = _bundle(durable_settings, monkeypatch, out, "--tenant", str(sealed["a"]))

    assert result.exit_code == 1, result.output
    assert "cannot prove" in result.output and "ledger verify" in result.output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith((".evidence", "evidence"))] == []
