"""Makes the stores in this folder with the ledger as it was BEFORE key epochs.

It must run against commit 114b17c ("xlsx export: compress the file once ..."), the last
version in which one master key (LEDGER_MASTER_KEY or the data dir's `master.key`) wrapped
every data key. Run against a later version it refuses (it checks that `api.keyfiles` still
has `master_key` and that `projections.storage.key_epochs` does not exist yet). From the repository:

    git worktree add /tmp/oldver 114b17c
    cd /tmp/oldver
    PYTHONPATH=/tmp/oldver LEDGER_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        /work/main/.venv/bin/python /work/main/tests/data/store_before_epochs/make_fixture.py \\
        /work/main/tests/data/store_before_epochs
    cd / && git -C /work/main worktree remove --force /tmp/oldver

Everything is made through that version's own entry points: `ledger init` and `ledger seal`
(its typer app, `api.cli.main.app`), and the HTTP API of `api.app.create_app` through FastAPI's
TestClient, with bearer tokens minted by `api.http.auth.mint_token` as its tests do. The same
history is made twice, on a SQLite file and on a PostgreSQL database (created for the run
and dropped after it has been dumped with `pg_dump --no-owner --no-privileges`). Both stores
share one data dir, hence one master key, signing key and token secret.

Written into the output folder (default: this script's folder):

- `ledger.sqlite`: the SQLite store, its write-ahead log checkpointed into the file;
- `postgres.sql` (or `postgres.sql.gz` when over 300 KB): the PostgreSQL store;
- `master.key`, `signing.pem`, `auth.secret`: the data dir's generated keys;
- `expected.json`: per store, the ids and what the people's fields read, for the tests
  (tests/reliability/test_key_epoch_migration.py).

The history, on each store (system clock, so the events carry the time of the run):
a tenant; four subjects with name, e-mail and phone; consents given (one withdrawn again);
an e-mail rectified; an unsubscribe link minted; an officer's logged read of a person; a
staff access request approved by the tenant's customer and used; an access request of a
subject fulfilled (delivery hash given, so no copy is kept), a portability request quoted
and left open; one subject erased through an erasure request; then the log sealed (a
signed checkpoint over every event) and `ledger verify` run.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

GZIP_ABOVE = 300_000
WHY = {"reason": "the subject asked us by e-mail"}
TENANT_NAME = "Acme Compliance B.V."
PEOPLE = {
    # key: (name, e-mail, phone)
    "ann": ("Ann de Vries", "ann@example.org", "+31611111111"),
    "bram": ("Bram Öztürk", "bram@example.org", "+31622222222"),
    "cees": ("Cees Jansen", "cees@example.org", "+31633333333"),
    "dirk": ("Dirk Bakker", "dirk@example.org", "+31644444444"),
}
ERASED = "dirk"
BRAM_NEW_EMAIL = "bram.ozturk@example.org"
ACCESS_REASON = "Invoice 2026-017 of Ann de Vries looks wrong"


def _refuse_unless_before_epochs() -> None:
    from api import keyfiles
    try:
        import projections.storage.key_epochs  # noqa: F401
    except ImportError:
        pass
    else:
        sys.exit("projections.storage.key_epochs exists: this is not the version before key epochs "
                 "(run with PYTHONPATH pointing at a checkout of commit 114b17c)")
    if not hasattr(keyfiles, "master_key"):
        sys.exit("api.keyfiles.master_key is missing: not the version before key epochs")


def _env(database_url: str, data_dir: Path) -> None:
    for name in [n for n in os.environ if n.startswith("LEDGER_")]:
        del os.environ[name]
    os.environ.update(
        LEDGER_DATABASE_URL=database_url,
        LEDGER_DATA_DIR=str(data_dir),
        LEDGER_POLL_INTERVAL_MS="20",
        LEDGER_CHECKPOINT_DELAY_SECONDS="1",
    )
    from api.settings import get_settings

    get_settings.cache_clear()


def _cli(*args: str) -> str:
    from typer.testing import CliRunner

    from api.cli.main import app
    from api.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, list(args))
    get_settings.cache_clear()
    if result.exit_code != 0:
        raise SystemExit(f"`ledger {' '.join(args)}` exited {result.exit_code}:\n{result.output}"
                         f"\n{result.exception!r}")
    return result.output


def build_history() -> dict[str, Any]:
    """The history through the HTTP API of this store (LEDGER_* in the environment)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.http.auth import mint_token
    from api.settings import get_settings

    settings = get_settings()
    app = create_app(settings)
    with TestClient(app) as client:
        def call(method: str, path: str, who: tuple[str, str, str | None], body: Any = None,
                 status: int = 200, **params: Any) -> Any:
            role, actor, tenant = who
            token = mint_token(settings, role, actor, tenant=tenant)
            response = client.request(method, path, json=body, params=params or None,
                                      headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == status, (method, path, response.status_code,
                                                    response.text)
            return response.json()

        officer, system, staff = ("officer", "olga", None), ("system", "crm", None), \
            ("staff", "sam", None)
        tenant = call("POST", "/v1/tenants", officer, {"name": TENANT_NAME}, 201)["id"]
        customer = ("customer", "alice", tenant)

        ids: dict[str, str] = {}
        for key, (name, email, phone) in PEOPLE.items():
            ids[key] = call("POST", "/v1/subjects", system,
                            {"tenant_id": tenant, "name": name, "email": email, "phone": phone},
                            201)["id"]

        def consent(subject: str, purpose: str, status: str, **extra: Any) -> Any:
            body = {"status": status, "method": "web_form", **extra}
            if status == "given":
                body.setdefault("notice_version", "2026-01")
            return call("PUT", f"/v1/subjects/{ids[subject]}/consents/{purpose}", system, body)

        consent("ann", "info_mail", "given", channel="email")
        consent("bram", "product_mail", "given")
        consent("bram", "product_mail", "withdrawn")
        consent("cees", "profiling", "given")
        consent("dirk", "info_mail", "given", channel="email")
        call("PATCH", f"/v1/subjects/{ids['bram']}", officer, {"email": BRAM_NEW_EMAIL})
        link = call("POST", f"/v1/subjects/{ids['ann']}/unsubscribe-links", system,
                    {"purpose": "info_mail", "channel": "email"}, 201)["url"]
        call("GET", f"/v1/subjects/{ids['ann']}", officer, **WHY)  # logged for the tenant

        # A member of staff asks the tenant's customer, gets a grant and uses it.
        access = call("POST", f"/v1/tenants/{tenant}/access-requests", staff, {
            "scope": "read", "resources": ["orders"], "reason": ACCESS_REASON,
            "ticket": "SUP-1234", "duration_minutes": 60,
        }, 201)["id"]
        call("POST", f"/v1/access-requests/{access}/approve", customer, {"duration_minutes": 30})
        call("POST", f"/v1/access-requests/{access}/accesses", staff,
             {"resource": "orders/17", "action": "read"}, 201)

        # Subjects' requests: an access request answered, a portability request quoted.
        data_request = call("POST", f"/v1/subjects/{ids['cees']}/requests", officer,
                            {"kind": "access", "channel": "email"}, 201)["id"]
        call("POST", f"/v1/requests/{data_request}/verify-identity", officer,
             {"method": "passport"})
        call("POST", f"/v1/requests/{data_request}/fulfil", officer,
             {"delivery_sha256": "ab" * 32, "delivery_format": "json"})
        portability = call("POST", f"/v1/subjects/{ids['ann']}/requests", officer,
                           {"kind": "portability", "channel": "web_form"}, 201)["id"]
        call("POST", f"/v1/requests/{portability}/quote", officer,
             {"amount_cents": 2500, "currency": "EUR"})

        # The erasure.
        erasure = call("POST", f"/v1/subjects/{ids[ERASED]}/requests", officer,
                       {"kind": "erasure", "channel": "email"}, 201)["id"]
        call("POST", f"/v1/requests/{erasure}/verify-identity", officer, {"method": "passport"})
        done = call("POST", f"/v1/requests/{erasure}/fulfil", officer)
        assert app.state.read.wait_for(done["position"], 30), "the read side did not catch up"

        ledger = app.state.stores.ledger
        people = {}
        for key, subject_id in ids.items():
            subject = ledger.subject(UUID(subject_id))
            people[key] = {"id": subject_id, "name": subject.name, "email": subject.email,
                           "phone": subject.phone, "erased": bool(subject.erased)}
        head = int(ledger.recorder.max_notification_id() or 0)
        tenant_name = ledger.tenant(UUID(tenant)).name
    assert people[ERASED]["erased"] and people[ERASED]["name"] == "[erased]", people[ERASED]
    assert people["bram"]["email"] == BRAM_NEW_EMAIL, people["bram"]
    return {
        "tenant": {"id": tenant, "name": tenant_name},
        "subjects": people,
        "erased": ids[ERASED],
        "access_request": {"id": access, "reason": ACCESS_REASON, "customer": "alice"},
        "data_requests": {"access": data_request, "portability": portability,
                          "erasure": erasure},
        "unsubscribe_path": link[len(settings.public_url.rstrip("/")):],
        "events": head,
    }


def make_store(database_url: str, data_dir: Path) -> dict[str, Any]:
    _env(database_url, data_dir)
    _cli("init")
    made = build_history()
    sealed = _cli("seal")
    verified = _cli("verify")
    assert "OK" in verified, verified
    made["sealed"] = sealed.strip()
    return made


def checkpoint_sqlite(path: Path) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _conninfo(url: str) -> str:
    from projections.storage.postgres import postgres_parts

    return " ".join(f"{k}={v}" for k, v in postgres_parts(url).items() if v)


def main() -> None:
    _refuse_unless_before_epochs()
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    admin = os.environ.get("LEDGER_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
    work = Path(tempfile.mkdtemp(prefix="store-before-epochs-"))
    data_dir = work / "var"
    expected: dict[str, Any] = {"made_by": "114b17c", "stores": {}}
    try:
        sqlite_file = work / "ledger.sqlite"
        expected["stores"]["sqlite"] = make_store(f"sqlite:///{sqlite_file}", data_dir)
        checkpoint_sqlite(sqlite_file)
        shutil.copyfile(sqlite_file, out / "ledger.sqlite")

        import psycopg

        dbname = f"ledger_fixture_{uuid.uuid4().hex[:10]}"
        base = admin.rpartition("/")[0]
        with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        try:
            url = f"{base}/{dbname}"
            expected["stores"]["postgresql"] = make_store(url, data_dir)
            dump = subprocess.run(
                ["pg_dump", "--no-owner", "--no-privileges", "--dbname", url],
                check=True, capture_output=True,
            ).stdout
        finally:
            with psycopg.connect(_conninfo(admin), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        for stale in ("postgres.sql", "postgres.sql.gz"):
            (out / stale).unlink(missing_ok=True)
        if len(dump) > GZIP_ABOVE:
            (out / "postgres.sql.gz").write_bytes(gzip.compress(dump, mtime=0))
        else:
            (out / "postgres.sql").write_bytes(dump)

        for name in ("master.key", "signing.pem", "auth.secret"):
            shutil.copyfile(data_dir / name, out / name)
        (out / "expected.json").write_text(json.dumps(expected, indent=2, ensure_ascii=False)
                                           + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fixture written to {out}")


if __name__ == "__main__":
    main()
