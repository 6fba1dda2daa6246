"""People told by e-mail through the real entry points, on every store: a customer names its
approvers over HTTP, staff ask for access with a token that carries their address, and the
mail server (aiosmtpd) receives what each must hear, sent by the app's own outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.http.auth import mint_token
from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, created, ok, open_api
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def mailing_api(settings: Settings, tmp_path: Path, clock: MovableClock, smtp: SmtpServer) -> Iterator[Api]:
    mailing = make_settings(
        settings.database_url, tmp_path / "var", smtp_url=smtp.url, poll_interval_ms=20,
        outbox_interval_seconds=0.05, public_url="https://ledger.example.org",
        officer_emails=["olga@vendor.example"],
    )
    yield from open_api(mailing, clock)


def test_approvers_named_over_http_are_mailed_a_request_and_staff_its_decision(
    mailing_api: Api, smtp: SmtpServer
) -> None:
    api = mailing_api
    tenant = created(api.user("officer", "olga").post("/v1/tenants", json={"name": "Acme"}))["id"]
    customer = api.user("customer", "carla", tenant)
    ok(customer.put(f"/v1/tenants/{tenant}/contacts", json={
        "approver_emails": ["ann@acme.example"], "language": "en",
    }))
    staff_token = mint_token(api.settings, "staff", "sam", email="sam@vendor.example")
    staff = User(api.client, {"Authorization": f"Bearer {staff_token}"})
    request = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json={
        "scope": "read", "resources": ["orders/17"], "reason": "order 17 is stuck",
        "duration_minutes": 60,
    }))

    [asked] = smtp.wait_for(1)
    assert asked["To"] == "ann@acme.example"
    text = asked.get_body(("plain",)).get_content()
    assert f"https://ledger.example.org/portal/#request-{request['id']}" in text

    ok(customer.post(f"/v1/access-requests/{request['id']}/approve", json={}))
    decided = smtp.wait_for(2)[1]
    assert decided["To"] == "sam@vendor.example"
    assert "approved" in decided["Subject"].lower()


def test_an_incident_reported_over_http_is_mailed_and_recorded_as_the_customers_notice(
    mailing_api: Api, smtp: SmtpServer
) -> None:
    api = mailing_api
    officer = api.user("officer", "olga")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme"}))["id"]
    ok(officer.put(f"/v1/tenants/{tenant}/contacts", json={
        "approver_emails": ["ann@acme.example"], "language": "nl",
    }))
    incident = created(officer.post("/v1/incidents", json={
        "title": "Backup bucket was public", "description": "From 02:00 to 03:10 UTC.",
        "severity": "high", "tenant_ids": [tenant],
    }))
    [notice] = smtp.wait_for(1)
    assert notice["Content-Language"] == "nl"

    def notified() -> dict:
        return ok(officer.get(f"/v1/incidents/{incident['id']}"))

    for _ in range(200):  # the outbox records it right after the server accepts the mail
        if notified()["customers_notified"]:
            break
        time.sleep(0.05)
    assert tenant in notified()["customers_notified"]
    [told] = notified()["customer_notices"]
    assert told["message_id"] == notice["Message-ID"] and told["by"] == "ledger-outbox"
