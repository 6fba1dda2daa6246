"""What the propagation tests through HTTP share: the app on each store with its outbox sending
to receivers on loopback (tests/webhook_receiver.py, which checks every delivery with the
`standardwebhooks` package), and the vendor's systems registered through the API, each with
its receiver and its own system token."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, created, open_api
from tests.webhook_receiver import Received, WebhookReceiver


@pytest.fixture
def outbox_api(database_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Api]:
    """The app on memory, SQLite and PostgreSQL, its outbox looking every 50 ms and allowed to
    send to loopback."""
    settings = make_settings(
        database_url, tmp_path / "var", poll_interval_ms=10, outbox_interval_seconds=0.05,
        webhook_allowed_hosts=["127.0.0.1"],
    )
    yield from open_api(settings, clock)


@dataclass
class Downstream:
    """One registered system: what the API answered, its receiver and its token."""

    id: str
    name: str
    receiver: WebhookReceiver
    user: User

    def told(self, kind: str) -> Received:
        """The first delivery of this type it received (waiting for it), verified with the
        `standardwebhooks` package."""
        count = 1
        while True:
            received = self.receiver.wait_for(count)
            assert all(r.verified for r in received), [r.failure for r in received]
            found = [r for r in received if r.payload["type"] == kind]
            if found:
                return found[0]
            count = len(received) + 1


@pytest.fixture
def receivers() -> Iterator[list[WebhookReceiver]]:
    started: list[WebhookReceiver] = []
    yield started
    for receiver in started:
        receiver.stop()


def register(
    api: Api, receivers: list[WebhookReceiver], name: str, actor: str, **described: Any
) -> Downstream:
    """A system registered by an officer, hearing at a receiver of its own."""
    receiver = WebhookReceiver(check_timestamp=False).start()  # the ledger runs on a MovableClock
    receivers.append(receiver)
    body = {"name": name, "url": receiver.url, "actor": actor,
            "purposes": described.get("purposes", []),
            "kinds": described.get("kinds", ["erasure", "rectification"])}
    answer = created(api.user("officer", "olga").post("/v1/systems", json=body))
    receiver.secret = answer["secret"]
    api.clock.move(seconds=1)  # systems are told in the order registered
    return Downstream(answer["id"], name, receiver, api.user("system", actor))


def subject(api: Api) -> str:
    return created(api.user("system", "app").post(
        "/v1/subjects", json={"name": "Zoë Verhoeven", "email": "zoe@example.org"}))["id"]


def verified_request(api: Api, subject_id: str, kind: str = "erasure") -> dict[str, Any]:
    officer = api.user("officer", "olga")
    request = created(officer.post(
        f"/v1/subjects/{subject_id}/requests", json={"kind": kind, "channel": "email"}))
    answer = officer.post(
        f"/v1/requests/{request['id']}/verify-identity", json={"method": "passport"})
    assert answer.status_code == 200, answer.text
    return answer.json()
