"""One webhook attempt against a real receiver on loopback (tests/webhook_receiver.py), which
checks each delivery with the `standardwebhooks` package: signed as the spec says, redirects
not followed, answers capped, slow receivers cut off, TLS verified for the URL's host name.
"""

from __future__ import annotations

import base64
import socket
import threading
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from api.notifications.signatures import headers, sign
from api.notifications.webhook_sender import AttemptResult, retry_after_seconds, send
from tests.webhook_receiver import Answer, Certificate, WebhookReceiver

SECRET = "whsec_" + base64.b64encode(b"a webhook secret of 24 b.").decode()
BODY = b'{"type":"access.approved","timestamp":"2026-01-05T09:00:00Z","data":{"id":"r1"}}'
LOOPBACK = ["127.0.0.1", "localhost"]
TOO_LONG_MS = 4000  # far below what each slow receiver below would take if it were waited for


def deliver(url: str, *, allowed: list[str] = LOOPBACK, **options: Any) -> AttemptResult:
    options = {"timeout": 5.0, "now": datetime.now(UTC), **options}
    return send(url, SECRET, "msg_2Xb0tq4", BODY, allowed_hosts=allowed, **options)


def test_a_delivery_is_signed_so_that_a_standard_webhooks_receiver_accepts_it() -> None:
    now = datetime.now(UTC)
    with WebhookReceiver(SECRET) as receiver:
        result = deliver(receiver.url, now=now)
    assert (result.status, result.error) == (204, None)
    assert receiver.verified
    [received] = receiver.requests
    assert received.method == "POST" and received.body == BODY
    assert received.payload["data"]["id"] == "r1"
    assert received.headers["webhook-id"] == "msg_2Xb0tq4"
    assert received.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "compliance-ledger-webhooks/1"


def test_a_receiver_with_another_secret_refuses_the_delivery() -> None:
    other = "whsec_" + base64.b64encode(b"somebody else's secret!!").decode()
    with WebhookReceiver(other) as receiver:
        deliver(receiver.url)
    assert not receiver.verified
    assert "No matching signature" in (receiver.requests[0].failure or "")


@given(st.text(min_size=1, max_size=40), st.integers(0, 2**33), st.binary(max_size=300))
def test_the_signature_is_the_one_the_standard_webhooks_package_computes(
    msg_id: str, timestamp: int, body: bytes
) -> None:
    expected = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body)
    assert sign(SECRET, msg_id, timestamp, body) == expected
    assert headers(SECRET, msg_id, timestamp, body)["webhook-signature"] == expected


def test_the_status_of_every_answer_is_reported_as_it_came() -> None:
    with WebhookReceiver(SECRET, answers=[500, 410, 429]) as receiver:
        statuses = [deliver(receiver.url).status for _ in range(4)]
    assert statuses == [500, 410, 429, 204]


def test_a_redirect_is_recorded_and_not_followed() -> None:
    with WebhookReceiver(SECRET) as elsewhere:
        with WebhookReceiver(SECRET, then=Answer(302, location=elsewhere.url)) as receiver:
            result = deliver(receiver.url)
    assert result.status == 302
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []


def test_retry_after_is_read_in_seconds_and_as_an_http_date() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    answers = [Answer(503, retry_after="120"), Answer(429, retry_after=later),
               Answer(503, retry_after="soon")]
    with WebhookReceiver(SECRET, answers=answers) as receiver:
        waits = [deliver(receiver.url, now=now).retry_after for _ in range(3)]
    assert waits == [120.0, 90.0, None]


@pytest.mark.parametrize(("value", "seconds"), [
    ("0", 0.0), (" 30 ", 30.0), ("-5", None), ("1.5", None), ("", None), (None, None),
    ("Mon, 05 Jan 2026 09:01:00 GMT", 60.0), ("Mon, 05 Jan 2026 08:00:00 GMT", 0.0),
    ("Monday, 05-Jan-26 09:00:30 GMT", 30.0), ("Mon Jan  5 09:00:10 2026", 10.0),
    ("not a date", None),
])
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, datetime(2026, 1, 5, 9, 0, tzinfo=UTC)) == seconds


def test_a_huge_answer_is_read_only_to_its_first_64_kib() -> None:
    ten_megabytes = 10 * 1024 * 1024
    with WebhookReceiver(SECRET, then=Answer(200, body_bytes=ten_megabytes)) as receiver:
        tracemalloc.start()
        try:
            result = deliver(receiver.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert receiver.requests[0].finished.wait(5)
    assert (result.status, result.error) == (200, None)
    assert receiver.requests[0].bytes_sent < ten_megabytes  # the sender hung up early
    assert peak < 1024 * 1024  # and never held much of it


def test_a_receiver_that_does_not_answer_in_time_is_a_timeout() -> None:
    with WebhookReceiver(SECRET, then=Answer(200, delay=10)) as receiver:
        result = deliver(receiver.url, timeout=0.5)
    assert (result.status, result.error) == (None, "no answer within 0.5 s")
    assert result.latency_ms < TOO_LONG_MS


def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_deadline() -> None:
    # A byte each 0.1 s keeps every single read alive; only the attempt's deadline ends it.
    with WebhookReceiver(SECRET, then=Answer(200, trickle=0.1)) as receiver:
        result = deliver(receiver.url, timeout=0.5)
    assert (result.status, result.error) == (None, "no answer within 0.5 s")
    assert result.latency_ms < TOO_LONG_MS


def test_an_answer_whose_body_trickles_keeps_its_status() -> None:
    slow_body = Answer(200, body_bytes=100, trickle=0.1, trickle_headers=False)
    with WebhookReceiver(SECRET, then=slow_body) as receiver:
        result = deliver(receiver.url, timeout=0.5)
    assert result.status == 200
    assert result.error == "stopped reading the answer's body at the deadline"
    assert result.latency_ms < TOO_LONG_MS


def test_https_is_verified_for_the_host_name_in_the_url() -> None:
    certificate = Certificate.issue("localhost")
    with WebhookReceiver(SECRET, tls=certificate) as receiver:
        result = deliver(receiver.url, tls_context=certificate.trusting())
    assert (result.status, result.error) == (204, None)
    assert receiver.verified
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


@pytest.mark.parametrize(("certificate", "trusted", "why"), [
    (lambda: Certificate.issue("other.example"), True, "Hostname mismatch"),
    (lambda: Certificate.self_signed("localhost"), False, "self-signed certificate"),
    (lambda: Certificate.issue("localhost"), False, "self-signed certificate in"),
])
def test_a_certificate_that_is_not_valid_for_the_host_is_an_error(
    certificate: Any, trusted: bool, why: str
) -> None:
    served = certificate()
    with WebhookReceiver(SECRET, tls=served) as receiver:
        result = deliver(receiver.url, tls_context=served.trusting() if trusted else None)
    assert result.status is None
    assert result.error is not None and result.error.startswith("TLS") and why in result.error
    assert receiver.requests == []


def test_the_request_goes_to_the_address_that_was_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name server that answers differently the second time (DNS rebinding) is asked once:
    the connection goes to the address the policy checked, the Host header names the host."""
    real, lookups = socket.getaddrinfo, []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "hooks.example":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "127.0.0.1" if len(lookups) == 1 else "192.0.2.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with WebhookReceiver(SECRET) as receiver:
        url = f"http://hooks.example:{receiver.port}/hooks"
        result = deliver(url, allowed=["hooks.example"], timeout=2)
    assert (result.status, lookups) == (204, ["hooks.example"])
    assert receiver.requests[0].headers["host"] == f"hooks.example:{receiver.port}"


@pytest.mark.parametrize(("url", "allowed", "why"), [
    ("https://127.0.0.1:{port}/hooks", [], "loopback"),
    ("https://localhost:{port}/hooks", [], "loopback"),
    ("http://localhost:{port}/hooks", ["127.0.0.1"], "https"),
    ("https://169.254.169.254/latest/meta-data", [], "metadata"),
    ("https://nowhere.invalid/hooks", [], "does not resolve"),
])
def test_a_refused_target_is_an_attempt_with_a_reason_and_nothing_is_sent(
    url: str, allowed: list[str], why: str
) -> None:
    with WebhookReceiver(SECRET) as receiver:
        result = deliver(url.format(port=receiver.port), allowed=allowed)
    assert result.status is None and why in (result.error or "")
    assert receiver.requests == []


def test_an_unreachable_receiver_is_an_error_without_secrets_or_traces() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = deliver(f"http://127.0.0.1:{port}/hooks")
    assert result.status is None
    assert result.error is not None and result.error.startswith("could not connect")
    assert SECRET not in result.error and "\n" not in result.error
    assert "Traceback" not in result.error


def test_a_name_server_that_does_not_answer_in_time_is_a_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The receiver's own name server is as much the receiver's as its HTTP server."""
    real, answer = socket.getaddrinfo, threading.Event()

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.example":
            answer.wait(10)
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        result = deliver("http://slow.example/hooks", allowed=["slow.example"], timeout=0.3)
    finally:
        answer.set()
    assert (result.status, result.error) == (None, "no answer within 0.3 s")
