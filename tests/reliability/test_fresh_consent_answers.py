"""A consent check that starts after a withdrawal was answered never says `allowed: true`, on any
API process, without the caller passing `min_position` (DESIGN.md §6)."""

from __future__ import annotations

import pytest

from tests.reliability.conftest import LedgerProcesses

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROUNDS = 200
GIVE = {"status": "given", "notice_version": "2026-01", "method": "web_form"}
WITHDRAW = {"status": "withdrawn", "method": "email"}


def test_a_withdrawal_through_one_process_is_never_answered_yes_by_the_other(
    pg_url: str, ledger_processes: LedgerProcesses
) -> None:
    procs = ledger_processes
    procs.prepare(pg_url)
    # Two API processes and one worker that keeps the read models, as docs/deploy.md deploys.
    apis = [procs.serve(name, pg_url, LEDGER_RUN_WORKERS="false") for name in ("api-a", "api-b")]
    procs.worker("worker", pg_url)
    procs.wait_healthy(*apis)
    token = procs.token("system", "crm")
    writer, reader = (api.client(token) for api in apis)
    subject = writer.post("/v1/subjects", json={"name": "Zoë", "email": "zoe@example.org"})
    assert subject.status_code == 201, subject.text
    path = f"/v1/subjects/{subject.json()['id']}/consents/info_mail"

    said_yes = []
    for round_number in range(ROUNDS):
        assert writer.put(path, json=GIVE).status_code == 200
        withdrawn = writer.put(path, json=WITHDRAW)
        assert withdrawn.status_code == 200, withdrawn.text
        answer = reader.get(path, params={"channel": "email"})  # at once: no min_position
        assert answer.status_code == 200, answer.text
        if answer.json()["allowed"]:
            said_yes.append(round_number)
    assert said_yes == [], f"a check after an answered withdrawal said yes in rounds {said_yes}"
    # And the read side did catch up: the answers were not all taken from the events.
    caught_up = reader.get(path, params={"min_position": withdrawn.json()["position"]})
    assert caught_up.status_code == 200 and caught_up.json()["status"] == "withdrawn"
