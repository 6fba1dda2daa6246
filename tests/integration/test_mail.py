"""The ledger's e-mail: what each notice says in English and Dutch, that nothing typed into an
event can shape the message, and sending through a real SMTP server (aiosmtpd) in plain SMTP,
STARTTLS and TLS, with credentials, and when the server refuses or is not there."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from api.notifications.mail import MAIL_NOTICES, compose
from api.notifications.smtp import MailFailed, SmtpSender
from domain.notifications import MAILED
from tests.smtp_server import SmtpServer

SENDER = "Compliance Ledger <ledger@ledger.example>"
RECIPIENT = "approver@customer.example"
LINK = "https://ledger.example/portal/#request-8d1f"
ACCESS = {
    "request_id": "8d1f", "tenant_id": "tenant-42", "scope": "read",
    "resources": ["orders", "orders/17"], "valid_until": "2026-05-01 12:00 UTC", "link": LINK,
}
DATA_REQUEST = {
    "request_id": "dr-1", "kind": "erasure", "due_at": "2026-05-07 00:00 UTC", "link": LINK,
}
AUTHORITY_CLOCK = {
    "incident_id": "inc-1", "title": "Lost laptop", "authority_due_at": "2026-05-03 09:00 UTC",
    "link": LINK,
}
CONTEXTS = {
    "access.requested": {
        "requester": "alice", "scope": "export", "resources": ["invoices"], "ticket": "T-7",
        "expires_at": "2026-05-01 12:00 UTC", "decide_url": LINK, "tenant_id": "tenant-42",
    },
    "access.approved": ACCESS,
    "access.denied": {**ACCESS, "valid_until": None},
    "access.expired": {**ACCESS, "valid_until": None},
    "incident.reported": {
        "incident_id": "inc-1", "title": "Lost laptop", "severity": "high",
        "aware_at": "2026-04-30 09:00 UTC", "description": "A laptop was left on a train.",
        "link": LINK,
    },
    "data_request.due_soon": DATA_REQUEST,
    "data_request.overdue": DATA_REQUEST,
    "incident.authority_due_soon": AUTHORITY_CLOCK,
    "incident.overdue": AUTHORITY_CLOCK,
}


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def as_received(message: EmailMessage) -> EmailMessage:
    """The message as a mail reader gets it: serialised, then parsed again."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def incident(title: str, description: str = "") -> EmailMessage:
    return compose(
        "incident.reported", "en",
        {**CONTEXTS["incident.reported"], "title": title, "description": description},
        sender=SENDER, recipient=RECIPIENT,
    )


def test_every_notice_that_must_be_mailed_has_a_mail() -> None:
    assert set(MAILED) == set(MAIL_NOTICES) == set(CONTEXTS)


@pytest.mark.parametrize("language", ["en", "nl"])
@pytest.mark.parametrize("notice_type", MAIL_NOTICES)
def test_each_notice_reads_in_english_and_dutch_with_its_link(
    notice_type: str, language: str
) -> None:
    message = as_received(
        compose(notice_type, language, CONTEXTS[notice_type], sender=SENDER, recipient=RECIPIENT)
    )
    text, html = parts(message)
    assert message["Subject"] and "\n" not in message["Subject"]
    assert message["To"] == RECIPIENT and message["Content-Language"] == language
    assert message["Message-ID"].endswith("@ledger.example>")
    assert LINK in text and f'href="{LINK}"' in html
    assert f'<html lang="{language}">' in html
    greeting = {"en": "Hello,", "nl": "Goedendag,"}[language]
    assert text.startswith(greeting) and greeting in html


def test_a_dutch_mail_is_written_in_dutch() -> None:
    english, dutch = (
        compose("access.requested", language, CONTEXTS["access.requested"], sender=SENDER,
                recipient=RECIPIENT)
        for language in ("en", "nl")
    )
    text, _html = parts(dutch)
    assert "Er is toegang gevraagd tot de gegevens van uw organisatie" in text
    assert "Soort toegang: exporteren" in text
    assert dutch["Subject"] != english["Subject"]


@pytest.mark.parametrize(("language", "subject"), [
    ("nl-BE", "Uw toegangsverzoek is afgewezen"), ("NL", "Uw toegangsverzoek is afgewezen"),
    ("fr", "Your access request was denied"), ("", "Your access request was denied"),
])
def test_a_language_we_do_not_write_gets_english(language: str, subject: str) -> None:
    message = compose("access.denied", language, CONTEXTS["access.denied"], sender=SENDER,
                      recipient=RECIPIENT)
    assert message["Subject"] == subject


def test_the_approvers_mail_names_who_asked_for_what_and_until_when() -> None:
    text, html = parts(compose(
        "access.requested", "en", CONTEXTS["access.requested"], sender=SENDER,
        recipient=RECIPIENT,
    ))
    for line in ("Requested by: alice", "Access: export", "Resources: invoices", "Ticket: T-7",
                 "Decide before: 2026-05-01 12:00 UTC"):
        assert line in text
    assert "alice" in html and "T-7" in html


def test_a_request_without_a_ticket_leaves_the_line_out() -> None:
    text, _html = parts(compose(
        "access.requested", "en", {**CONTEXTS["access.requested"], "ticket": None},
        sender=SENDER, recipient=RECIPIENT,
    ))
    assert "Ticket" not in text and "None" not in text


def test_a_line_break_in_a_title_adds_no_header() -> None:
    message = as_received(incident("Breach\r\nBcc: attacker@evil.example\r\nX-Injected: yes"))
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert message["Subject"] == (
        "Security incident affecting your organisation: "
        "Breach Bcc: attacker@evil.example X-Injected: yes"
    )
    assert message.get_all("To") == [RECIPIENT]


def test_a_line_break_in_a_value_does_not_make_a_line_of_its_own_among_the_facts() -> None:
    text, _html = parts(incident("Lost laptop\nSeverity: low"))
    assert "\nSeverity: low" not in text and "Severity: high" in text


def test_markup_in_a_value_is_shown_as_text_in_the_html() -> None:
    _text, html = parts(incident('<script>alert(1)</script>', '"><img src=x onerror=alert(1)>'))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_link_that_is_not_a_web_address_is_left_out() -> None:
    message = compose(
        "access.approved", "en", {**ACCESS, "link": "javascript:alert(1)"}, sender=SENDER,
        recipient=RECIPIENT,
    )
    text, html = parts(message)
    assert "javascript:" not in text and "javascript:" not in html and "href" not in html


@pytest.mark.parametrize("recipient", [
    "a@customer.example, b@customer.example", "a@customer.example\r\nBcc: c@evil.example", "",
    "not an address",
])
def test_a_recipient_that_is_not_one_address_is_refused(recipient: str) -> None:
    with pytest.raises(ValueError, match="recipient"):
        compose("access.denied", "en", ACCESS, sender=SENDER, recipient=recipient)


def test_a_notice_that_is_not_mailed_is_refused() -> None:
    with pytest.raises(ValueError, match="access.used"):
        compose("access.used", "en", ACCESS, sender=SENDER, recipient=RECIPIENT)


def test_a_mail_sent_through_the_server_arrives_with_its_message_id() -> None:
    message = compose("access.requested", "en", CONTEXTS["access.requested"], sender=SENDER,
                      recipient=RECIPIENT)
    with SmtpServer() as server:
        message_id = SmtpSender(server.url).send(message)
        [received] = server.wait_for(1)
        assert server.received[0].rcpt_tos == [RECIPIENT]
    assert received["Message-ID"] == message_id == message["Message-ID"]
    text, html = parts(received)
    assert LINK in text and LINK in html


@pytest.mark.parametrize("tls", ["starttls", "implicit", None])
def test_a_mail_goes_with_credentials_over_tls_or_in_clear_to_a_relay_on_this_machine(
    tls: str | None,
) -> None:
    with SmtpServer(tls=tls, credentials=("mail user", "p@ss:w/rd")) as server:
        message_id = SmtpSender(server.url).send(incident("Lost laptop"))
        [received] = server.wait_for(1)
        assert server.logins == ["mail user"] and server.received[0].tls == (tls is not None)
    assert received["Message-ID"] == message_id


def test_a_server_whose_certificate_we_do_not_trust_gets_nothing() -> None:
    with SmtpServer(tls="starttls", credentials=("mailer", "s3cret")) as server:
        untrusted = server.url.split("?")[0]  # the system's CAs do not know the test CA
        with pytest.raises(MailFailed) as failed:
            SmtpSender(untrusted).send(incident("Lost laptop"))
        assert server.received == [] and server.logins == []
    assert not failed.value.permanent and "certificate" in failed.value.reason


def test_wrong_credentials_are_a_temporary_failure_that_does_not_show_the_password() -> None:
    with SmtpServer(tls="starttls", credentials=("mailer", "s3cret")) as server:
        wrong = server.url.replace("s3cret", "not-the-password")
        sender = SmtpSender(wrong)
        with pytest.raises(MailFailed) as failed:
            sender.send(incident("Lost laptop"))
    assert not failed.value.permanent and "535" in failed.value.reason
    assert "not-the-password" not in str(failed.value) + repr(sender)


@pytest.mark.parametrize("url", [
    "smtp://mailer:s3cret@mail.example.org", "smtp://mailer:s3cret@192.0.2.10:2525",
])
def test_credentials_in_clear_to_another_host_are_refused_before_anything_is_sent(
    url: str
) -> None:
    with pytest.raises(ValueError, match="in clear") as refused:
        SmtpSender(url)
    assert "s3cret" not in str(refused.value)


@pytest.mark.parametrize("url", [
    "http://mail.example.org", "smtp://", "smtp://mail.example.org?verify=no",
    "smtp+starttls://mail.example.org:notaport",
])
def test_a_mail_server_url_we_cannot_use_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        SmtpSender(url)


def test_a_refused_recipient_is_a_permanent_failure() -> None:
    refusal = {RECIPIENT: "550 5.1.1 No such user here"}
    with SmtpServer(refuse=refusal) as server:
        with pytest.raises(MailFailed) as failed:
            SmtpSender(server.url).send(incident("Lost laptop"))
        assert server.received == []
    assert failed.value.permanent and "550 5.1.1 No such user here" in failed.value.reason


def test_a_recipient_refused_for_now_is_a_temporary_failure() -> None:
    with SmtpServer(refuse={RECIPIENT: "452 4.2.2 Mailbox full"}) as server:
        with pytest.raises(MailFailed) as failed:
            SmtpSender(server.url).send(incident("Lost laptop"))
    assert not failed.value.permanent and "452" in failed.value.reason


def test_a_server_that_is_down_is_a_temporary_failure() -> None:
    with socket.socket() as taken:  # bound, never listening: a port nobody answers on
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(MailFailed) as failed:
            SmtpSender(f"smtp://127.0.0.1:{port}", timeout=2).send(incident("Lost laptop"))
    assert not failed.value.permanent and f"127.0.0.1:{port}" in failed.value.reason
