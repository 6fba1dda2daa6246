"""Two `ledger witness serve` processes cosign a growing log, and refuse it once it is rewritten.

A wiped-and-resealed log (an event removed, the Merkle tables rebuilt) and a truncated-and-
regrown one (the last events removed, rebuilt, then grown past the witnesses' size) look fine
from inside: every proof of the new tree holds. Only someone who kept the old history can
tell, and the witnesses do: they refuse, the served note goes without their cosignatures,
`GET /v1/audit/witnesses` shows the refusals and `witness_problems` (`ledger verify
--witness`) names the size each witness vouched for. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from api.cli.main import app as ledger_cli
from domain.clock import MovableClock
from projections.audit.witness_check import witness_problems
from projections.merkle_log.signed_notes import parse_note, parse_vkey
from projections.merkle_log.tlog_checkpoint import cosignature_time, log_verifier, parse_checkpoint
from api.bootstrap import open_stores
from tests.conftest import make_settings
from tests.e2e.conftest import Api, open_api
from tests.reliability.conftest import REPO_ROOT, free_port, wait_until

LOG_KEY = Ed25519PrivateKey.generate()
ORIGINS = {"sqlite": "ledger.test/sqlite", "postgres": "ledger.test/postgres"}


@dataclass
class WitnessProcess:
    name: str
    url: str
    vkey: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def served_size(self, origin: str) -> int:
        digest = hashlib.sha256(origin.encode()).hexdigest()
        note = httpx.get(f"{self.url}/{digest}/checkpoint", timeout=5).text
        return int(note.split("\n")[1])


@pytest.fixture(scope="module")
def witnesses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[WitnessProcess]]:
    """Two witnesses, each following the logs of both stores' ledgers."""
    base = tmp_path_factory.mktemp("witnesses")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "PG"))}
    env.update(PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1", LEDGER_DATA_DIR=str(base / "var"))
    logs = [arg for origin in ORIGINS.values()
            for arg in ("--log", log_verifier(origin, LOG_KEY).vkey())]
    started = []
    for name in ("witness.test/alpha", "witness.test/beta"):
        directory = base / name.rsplit("/", 1)[1]
        shown = CliRunner().invoke(ledger_cli, ["witness", "vkey", "--dir", str(directory), "--name", name])
        assert shown.exit_code == 0, shown.output
        port = free_port()
        log_path = base / f"{directory.name}.log"
        with log_path.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "api.cli.main", "witness", "serve", "--dir", str(directory),
                 "--name", name, "--port", str(port), *logs],
                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        started.append(WitnessProcess(name, f"http://127.0.0.1:{port}", shown.output.strip(),
                                      popen, log_path))
    try:
        for witness in started:
            def answers(w: WitnessProcess = witness) -> bool:
                assert w.popen.poll() is None, w.log_path.read_text()
                try:
                    return httpx.get(f"{w.url}/0/checkpoint", timeout=1).status_code == 404
                except httpx.HTTPError:
                    return False

            wait_until(answers, f"{witness.name} to listen", 30, every=0.1)
        yield started
    finally:
        for witness in started:
            witness.popen.terminate()
            witness.popen.wait(timeout=20)


class Ledger:
    """The ledger on one store, asking both witnesses; stopped and started around tampering."""

    def __init__(self, database_url: str, store: str, data_dir: Path, witnesses: list[WitnessProcess]):
        pem = LOG_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        self.origin, self.witnesses = ORIGINS[store], witnesses
        self.settings = make_settings(
            database_url, data_dir, signing_key=pem, log_origin=self.origin, poll_interval_ms=20,
            witnesses=", ".join(f"{w.vkey} {w.url}" for w in witnesses),
        )
        self.subjects = 0

    def running(self) -> Iterator[Api]:
        yield from open_api(self.settings, MovableClock())

    def record(self, api: Api, subjects: int) -> int:
        tenant = api.ledger.open_tenant(f"Tenant {self.subjects}", "olga").aggregate.id
        for _ in range(subjects):
            self.subjects += 1
            api.ledger.register_subject(f"P {self.subjects}", f"p{self.subjects}@example.org", "crm", tenant)
        return api.events()

    def note(self, api: Api):
        response = api.user("auditor", "aud").get("/v1/log/checkpoint")
        assert response.status_code == 200, response.text
        return parse_note(response.text)

    def size(self, api: Api) -> int:
        """The served note's tree size; 0 before the (re)built log's first checkpoint."""
        response = api.user("auditor", "aud").get("/v1/log/checkpoint")
        return parse_checkpoint(parse_note(response.text).text).tree_size if response.status_code == 200 else 0

    def cosigned_by_both(self, api: Api, size: int) -> bool:
        if self.size(api) != size:
            return False
        note = self.note(api)
        return all(
            cosignature_time(note, parse_vkey(w.vkey)) for w in self.witnesses)

    def outcomes(self, api: Api) -> list[tuple[str, int | None, int | None]]:
        items = api.user("officer", "olga").get("/v1/audit/witnesses").json()["items"]
        return [(i["last_outcome"], i["last_status"], i["witness_size"]) for i in items]

    def verify_cli(self, *options: str):
        """`ledger verify` on this ledger's store, as its operator or an auditor runs it."""
        from api.settings import get_settings

        environment = {
            "LEDGER_DATABASE_URL": self.settings.database_url,
            "LEDGER_DATA_DIR": str(self.settings.data_dir),
            "LEDGER_SIGNING_KEY": self.settings.signing_key.get_secret_value(),
            "LEDGER_LOG_ORIGIN": self.origin,
        }
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(ledger_cli, ["verify", *options], env=environment)
        finally:
            get_settings.cache_clear()

    def tamper(self, *sql: str) -> None:
        """What an intruder with the database does while the ledger is stopped: `sql` on the
        events, then the Merkle tables emptied, for the sealer to rebuild from the events."""
        stores = open_stores(self.settings)
        try:
            table, key = _events(stores.db.dialect)
            last = int(stores.db.fetchone(f"SELECT MAX({key}) FROM {table}")[0])
            for statement in sql:
                stores.db.execute(statement.format(table=table, key=key, last=last))
            for merkle in ("merkle_leaves", "merkle_nodes", "merkle_state", "merkle_checkpoints"):
                stores.db.execute(f"DELETE FROM {merkle}")
        finally:
            stores.close()


def _events(dialect: str) -> tuple[str, str]:
    return ("ledger_events", "notification_id") if dialect == "postgresql" else ("stored_events", "rowid")


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_witnesses_cosign_a_growing_log_and_refuse_a_rewritten_or_truncated_one(
    store: str, witnesses: list[WitnessProcess], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite" if store == "sqlite" else request.getfixturevalue("pg_url")
    ledger = Ledger(url, store, tmp_path / "var", witnesses)
    vkeys = [w.vkey for w in witnesses]

    # A growing log: both cosign, from size 0 and then with consistency proofs.
    for api in ledger.running():
        first = ledger.record(api, 6)
        wait_until(lambda: ledger.cosigned_by_both(api, first), "both witnesses to cosign", 20)
        honest = ledger.record(api, 5)
        wait_until(lambda: ledger.cosigned_by_both(api, honest), "both to cosign the grown log", 20)
        assert ledger.outcomes(api) == [("cosigned", 200, honest)] * 2
        assert api.user("customer", "cara", uuid.uuid4()).get("/v1/audit/witnesses").status_code == 403
        assert witness_problems(api.app.state.stores.db, LOG_KEY, vkeys) == []
        verified = ledger.verify_cli("--witness", vkeys[0], "--witness", vkeys[1])
        assert verified.exit_code == 0 and "2 witness key(s) checked" in verified.output, verified.output
        assert [w.served_size(ledger.origin) for w in witnesses] == [honest, honest]

    # Wipe and reseal: one event removed, the tree rebuilt and grown past the witnesses' size.
    ledger.tamper("DELETE FROM {table} WHERE {key} = 3")
    for api in ledger.running():
        ledger.record(api, 3)  # 15 events: one fewer than the tree the witnesses saw grows to
        wait_until(lambda: ledger.size(api) > honest and refused(ledger, api),
                   "both witnesses to refuse the rewritten log", 20)
        assert_refused_and_named(ledger, api, honest, vkeys)

    # Truncate and regrow: the last events removed, rebuilt smaller, then grown past again.
    ledger.tamper("DELETE FROM {table} WHERE {key} > {last} - 6")
    for api in ledger.running():
        wait_until(lambda: [o[0] for o in ledger.outcomes(api)] == ["inconsistent"] * 2,
                   "the log smaller than the witnesses' size to be recorded", 20)
        details = api.user("auditor", "aud").get("/v1/audit/witnesses").json()["items"]
        assert all(f"the witness has seen {honest} leaves, this log only" in d["detail"] for d in details)
        ledger.record(api, 8)
        wait_until(lambda: ledger.size(api) > honest and refused(ledger, api),
                   "both witnesses to refuse the regrown log", 20)
        assert_refused_and_named(ledger, api, honest, vkeys)
    assert [w.served_size(ledger.origin) for w in witnesses] == [honest, honest]


def refused(ledger: Ledger, api: Api) -> bool:
    return all(outcome[:2] == ("refused", 422) for outcome in ledger.outcomes(api))


def assert_refused_and_named(ledger: Ledger, api: Api, honest: int, vkeys: list[str]) -> None:
    note = ledger.note(api)
    assert all(cosignature_time(note, parse_vkey(v)) is None for v in vkeys)
    problems = witness_problems(api.app.state.stores.db, LOG_KEY, vkeys)
    for witness in ledger.witnesses:
        assert any(p.startswith(f"witness {witness.name} did not cosign") and
                   f"the largest size it cosigned here is {honest}" in p for p in problems), problems
    assert witness_problems(api.app.state.stores.db, LOG_KEY, vkeys, quorum=1) != []
    verified = ledger.verify_cli("--witness", vkeys[0], "--witness", vkeys[1], "--quorum", "1")
    assert verified.exit_code == 1, verified.output
    for witness in ledger.witnesses:
        assert f"FAILED witnesses: witness {witness.name} did not cosign" in verified.output
        assert f"the largest size it cosigned here is {honest}" in verified.output
