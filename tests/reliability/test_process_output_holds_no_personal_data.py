"""What the real processes write, to their log or anywhere else on stdout and stderr, holds no
personal data and no secret: `ledger serve` and `ledger worker` at DEBUG through a person's
whole journey, and the operator's commands run afterwards. On SQLite (serve alone) and
PostgreSQL (serve, with a worker that also sweeps).

Each process's stdout and stderr go to one file (tests/reliability/conftest.py), so a `print`,
a library's own handler or a traceback shows up as surely as a log record."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import LedgerProcesses
from tests.reliability.test_secrets_and_logs import (
    EMAIL, NAME, NEW_EMAIL, NEW_NAME, PHONE, TENANT_NAME, Secrets,
)

DEBUG = {"LEDGER_LOG_LEVEL": "DEBUG"}


def _ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def _journey(procs: LedgerProcesses, url: str, secrets: Secrets) -> None:
    def client(role: str, actor: str, tenant: object = None) -> httpx.Client:
        token = procs.token(role, actor, tenant)
        secrets.add(token)
        return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    with client("officer", "olga") as officer, client("system", "crm") as system:
        tenant = _ok(officer.post("/v1/tenants", json={"name": TENANT_NAME}), 201)["id"]
        subject = _ok(system.post("/v1/subjects", json={
            "tenant_id": tenant, "name": NAME, "email": EMAIL, "phone": PHONE}), 201)["id"]
        _ok(system.put(f"/v1/subjects/{subject}/consents/info_mail", json={
            "status": "given", "channel": "email", "notice_version": "2026-01",
            "method": "web_form"}))
        fixed = _ok(officer.patch(f"/v1/subjects/{subject}",
                                  json={"name": NEW_NAME, "email": NEW_EMAIL}))
        _ok(officer.get(f"/v1/subjects/{subject}",
                        params={"min_position": fixed["position"], "reason": "check"}))
        link = _ok(system.post(f"/v1/subjects/{subject}/unsubscribe-links",
                               json={"purpose": "info_mail", "channel": "email"}), 201)["url"]
        path = "/" + link.split("/", 3)[3]
        secrets.add(path.rsplit("/", 1)[1])
        assert httpx.post(url + path).status_code == 200
        for fmt in ("json", "csv", "xlsx"):
            exported = officer.get(f"/v1/subjects/{subject}/export",
                                   params={"format": fmt, "reason": "check"})
            assert exported.status_code == 200
        # Refused bodies that quote the person, and a token that is no good
        system.post("/v1/subjects", json={"name": NAME, "email": "not an email " + EMAIL})
        httpx.get(url + "/v1/tenants", headers={"Authorization": "Bearer not-a-token"})
        erasure = _ok(officer.post(f"/v1/subjects/{subject}/requests",
                                   json={"kind": "erasure", "channel": "email"}), 201)["id"]
        _ok(officer.post(f"/v1/requests/{erasure}/verify-identity", json={"method": "passport"}))
        _ok(officer.post(f"/v1/requests/{erasure}/fulfil"))


@pytest.mark.slow
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_what_the_processes_write_anywhere_holds_no_personal_data_and_no_secret(
    store: str, ledger_processes: LedgerProcesses, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    procs = ledger_processes
    url = (f"sqlite:///{tmp_path}/ledger.sqlite" if store == "sqlite"
           else request.getfixturevalue("pg_url"))
    settings = procs.prepare(url)
    api = procs.serve("api", url, **DEBUG)
    started = [api]
    if store == "postgres":
        started.append(procs.worker("worker", url, "--sweep", **DEBUG))
    procs.wait_healthy(api)
    secrets = Secrets()
    secrets.add(NAME, NEW_NAME, EMAIL, NEW_EMAIL, PHONE, TENANT_NAME)

    _journey(procs, api.url, secrets)
    operator = [procs.cli(url, *command) for command in (
        ("keys", "close-epoch"), ("keys", "status"), ("verify",), ("projections", "status"),
    )]
    secrets.of_settings(settings)  # every KEK there is by now, the closed epoch's included
    for process in started:
        assert process.stop(), process.log()[-3000:]

    assert all(done.returncode == 0 for done in operator), [d.stderr for d in operator]
    written = [process.log() for process in started]
    written += [done.stdout + done.stderr for done in operator]
    lines = "\n".join(written).splitlines()
    # captured: the JSON access line of the request that carried the person's name and e-mail
    assert any('"route": "/v1/subjects", "status": 201' in line for line in lines), lines
    leaks = secrets.found_in(lines)
    assert leaks == [], "\n".join(leaks[:20])
