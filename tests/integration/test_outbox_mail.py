"""What people must hear by e-mail, on SQLite and PostgreSQL, through a real SMTP server
(aiosmtpd, tests/smtp_server.py): the approvers of a new access request, the requester of its
decision, and the customers affected by an incident, whose notice becomes the incident's
recorded notification."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from api.bootstrap import build
from api.container import Container
from api.settings import Settings
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def container(
    durable_settings: Settings, clock: MovableClock, smtp: SmtpServer
) -> Iterator[Container]:
    settings = make_settings(
        durable_settings.database_url, durable_settings.data_dir, smtp_url=smtp.url,
        public_url="https://ledger.example.org", mail_from="ledger@example.org",
        staff_emails={"sam": "sam@vendor.example"}, officer_emails=["olga@vendor.example"],
    )
    made = build(settings, clock=clock, sealer=False)
    try:
        yield made
    finally:
        made.close()


def dispatch(container: Container) -> int:
    container.outbox.catch_up()
    return container.dispatcher().run_once()


def tenant_with_approvers(container: Container, language: str = "en") -> UUID:
    ledger = container.stores.ledger
    tenant = ledger.open_tenant("Acme", "olga").aggregate.id
    container.contacts().set_contacts(
        tenant, ["ann@acme.example", "bob@acme.example"], language, ledger.now()
    )
    return tenant


def text_of(message: object) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]


def test_the_approvers_are_mailed_a_new_access_request_with_the_page_that_decides_it(
    container: Container, smtp: SmtpServer
) -> None:
    tenant = tenant_with_approvers(container)
    request_id = container.stores.ledger.request_access(
        tenant, "sam", "read", ["orders/17"], "order 17 is stuck", duration_minutes=60
    ).aggregate.id
    assert dispatch(container) == 2
    mails = smtp.wait_for(2)
    assert sorted(m["To"] for m in mails) == ["ann@acme.example", "bob@acme.example"]
    assert f"https://ledger.example.org/portal/#request-{request_id}" in text_of(mails[0])
    assert "orders/17" in text_of(mails[0])
    delivered = container.deliveries().for_tenant(tenant)
    assert {d.status for d in delivered} == {"delivered"}
    assert {d.message_id for d in delivered} == {m["Message-ID"] for m in mails}


def test_the_requester_is_mailed_the_decision(container: Container, smtp: SmtpServer) -> None:
    ledger = container.stores.ledger
    tenant = tenant_with_approvers(container)
    request_id = ledger.request_access(
        tenant, "sam", "read", ["orders"], "a look", duration_minutes=60
    ).aggregate.id
    dispatch(container)
    ledger.approve_access(request_id, "ann")
    dispatch(container)
    [decision] = [m for m in smtp.wait_for(3) if m["To"] == "sam@vendor.example"]
    assert "approved" in decision["Subject"].lower()


def test_dutch_approvers_are_mailed_in_dutch(container: Container, smtp: SmtpServer) -> None:
    tenant = tenant_with_approvers(container, "nl")
    container.stores.ledger.request_access(
        tenant, "sam", "read", ["orders"], "a look", duration_minutes=60
    )
    dispatch(container)
    mail = smtp.wait_for(1)[0]
    assert mail["Content-Language"] == "nl"


def test_an_incident_notice_mailed_to_a_customer_is_recorded_as_its_notification(
    container: Container, smtp: SmtpServer
) -> None:
    ledger = container.stores.ledger
    tenant = tenant_with_approvers(container)
    incident = ledger.report_incident(
        "Lost laptop", "A laptop with exports was lost", "high", [tenant], "olga"
    ).aggregate.id
    dispatch(container)
    mails = smtp.wait_for(2)
    assert all("Lost laptop" in m["Subject"] for m in mails)
    told = ledger.incident(incident)
    assert tenant in told.customers_notified
    events = list(ledger.events.get(incident))
    [notice] = [e for e in events if type(e).__name__ == "CustomerNotified"]
    assert notice.message_id in {m["Message-ID"] for m in mails}
    assert notice.actor == "ledger-outbox"


def test_officers_are_mailed_a_subjects_request_a_week_before_it_is_due_and_once(
    container: Container, smtp: SmtpServer, clock: MovableClock
) -> None:
    ledger = container.stores.ledger
    subject = ledger.register_subject("Pat", "pat@example.org", "olga").aggregate.id
    request = ledger.receive_data_request(subject, "access", "email", "olga").aggregate
    container.read_side.runner.catch_up()
    dispatch(container)
    assert smtp.messages == []  # a month to go: nobody is bothered yet
    clock.move(days=25)
    container.read_side.runner.catch_up()
    assert container.dispatcher().notice_deadlines() == 1
    dispatch(container)
    [due] = smtp.wait_for(1)
    assert due["To"] == "olga@vendor.example"
    assert str(request.id) in due.get_body(("plain",)).get_content()
    assert container.dispatcher().notice_deadlines() == 0  # told once
    dispatch(container)
    assert len(smtp.messages) == 1
