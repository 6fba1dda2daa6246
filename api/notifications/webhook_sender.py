"""One attempt to deliver a webhook: a single signed POST that no receiver can stretch.

Whatever a receiver does (refuse, redirect, answer slowly, trickle a byte at a time, send
gigabytes, present a bad certificate), the attempt ends within `timeout` seconds with an
`AttemptResult`, and never raises: the outbox records it and decides by the status alone
(domain/notifications.py `answer_means`). Concretely:

- the target is checked (api/notifications/targets.py) at every attempt, and the connection
  goes to the very address that was checked, with the real host name as Host header and as
  TLS server name, so the certificate is verified for the name in the URL;
- TLS is always verified (the system's trust, or `SSL_CERT_FILE`); proxy and `.netrc` settings
  are ignored, so nothing routes the request elsewhere; a redirect is an answer, not followed;
- one deadline covers the DNS lookup, connecting, TLS, sending and reading: a watchdog shuts
  the connection's socket down when it passes, which also ends a read that a receiver keeps
  alive with a byte now and then (a per-read timeout never would);
- of the answer's body at most about 64 KiB is read (one network read more at most), then the
  connection is closed; nothing in the body changes what the answer means;
- `Retry-After` (seconds or an HTTP date) is given in seconds.

Once a status has arrived it stands, even if reading the body then fails: a receiver that said
204 has accepted the message. `error` then says what happened to the body.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx2

from api.notifications import signatures
from api.notifications.targets import Target, TargetRefused, resolve

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024
MAX_ERROR_CHARS = 200


@dataclass(frozen=True)
class AttemptResult:
    status: int | None  # None: no answer (refused, unreachable, timed out, TLS failed)
    latency_ms: int
    retry_after: float | None  # seconds, from the answer's Retry-After
    error: str | None  # short, one line: no stack trace, no secret


class _Expired(Exception):
    """The deadline passed while the name was being looked up."""


def send(
    url: str, secret: str, msg_id: str, body: bytes, *, allowed_hosts: Sequence[str],
    timeout: float, now: datetime, tls_context: ssl.SSLContext | None = None,
) -> AttemptResult:
    """POST `body`, signed for `msg_id` at `now`, to `url`. `tls_context`: whom to trust
    instead of the system's certificate authorities (tests, a private CA)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    watchdog = _Watchdog(timeout)
    status, retry_after = None, None
    try:
        target = _resolve_by(url, allowed_hosts, watchdog)
        signed = signatures.headers(secret, msg_id, int(now.timestamp()), body)
        status, retry_after, error = _post(
            target, signed, body, watchdog, now, tls_context or _system_trust()
        )
    except TargetRefused as refused:
        error = refused.reason
    except Exception as failure:  # a receiver's doing must never escape as an exception
        error = _describe(failure, timeout, watchdog.expired)
    finally:
        watchdog.stop()
    return AttemptResult(status, watchdog.elapsed_ms(), retry_after, error)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header in seconds from `now`: delay-seconds or an HTTP date (RFC 9110
    §10.2.3); None when absent or not understood."""
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,10}", value):
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": an HTTP date is always GMT
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - now).total_seconds())


class _Watchdog:
    """The attempt's deadline, enforced on the connection whatever it is blocked in."""

    def __init__(self, seconds: float) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self._fired = False
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        return self._fired or time.monotonic() >= self.deadline

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def elapsed_ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's `trace` extension: keeps a duplicate of the connection's socket as soon
        as it is connected (before TLS, which takes the original over). A duplicate shuts the
        same connection down, and is ours to close, so its number is never someone else's."""
        if event == "connection.connect_tcp.complete":
            connected = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._socket = connected.dup()
                if self._fired:
                    self._shut_down()

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._socket is not None:
                self._socket.close()
            self._socket = None

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the other side
                pass


def _resolve_by(url: str, allowed_hosts: Sequence[str], watchdog: _Watchdog) -> Target:
    """`resolve` within the deadline: a name server that is slow to answer (perhaps the
    receiver's own) must not hold the attempt either. A lookup still running at the deadline
    is left to finish in its thread when the resolver gives up."""
    answer: list[Target | Exception] = []

    def look_up() -> None:
        try:
            answer.append(resolve(url, allowed_hosts))
        except Exception as failure:
            answer.append(failure)

    worker = threading.Thread(target=look_up, name="webhook-dns", daemon=True)
    worker.start()
    worker.join(watchdog.left())
    if not answer or watchdog.left() == 0:
        raise _Expired
    if isinstance(answer[0], Exception):
        raise answer[0]
    return answer[0]


def _post(
    target: Target, signed: dict[str, str], body: bytes, watchdog: _Watchdog, now: datetime,
    tls_context: ssl.SSLContext,
) -> tuple[int, float | None, str | None]:
    pinned = httpx2.URL(target.url).copy_with(host=target.address)
    extensions: dict[str, Any] = {"trace": watchdog.trace}
    if target.scheme == "https":
        extensions["sni_hostname"] = target.host
    with httpx2.Client(
        verify=tls_context, trust_env=False, follow_redirects=False,
        timeout=httpx2.Timeout(watchdog.left()),
    ) as client:
        with client.stream(
            "POST", pinned, content=body, headers={**signed, "host": target.host_header},
            extensions=extensions,
        ) as response:
            retry_after = retry_after_seconds(response.headers.get("retry-after"), now)
            return response.status_code, retry_after, _read_some(response, watchdog)


def _read_some(response: httpx2.Response, watchdog: _Watchdog) -> str | None:
    """Reads the first MAX_ANSWER_BYTES or so of the body, raw (a compressed body is never
    inflated), keeping none of it; the rest is never read."""
    late = "stopped reading the answer's body at the deadline"
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read >= MAX_ANSWER_BYTES:
                return None
            if watchdog.expired:
                return late
    except Exception as failure:
        return late if watchdog.expired else (
            "reading the answer's body failed: " + _describe(failure, 0, False))
    return None


def _describe(failure: Exception, timeout: float, expired: bool) -> str:
    if expired or isinstance(failure, (_Expired, httpx2.TimeoutException)):
        return f"no answer within {timeout:g} s"
    # One line, without the "[Errno 111] " that says nothing to a reader.
    plain = " ".join(re.sub(r"^\[Errno -?\d+\] ", "", str(failure)).split())
    plain = plain or type(failure).__name__
    if (tls := _tls_failure(failure)) is not None:
        text = tls
    elif isinstance(failure, httpx2.ConnectError):
        text = "could not connect: " + plain
    elif isinstance(failure, httpx2.RemoteProtocolError):
        text = "the receiver broke the HTTP protocol: " + plain
    elif isinstance(failure, (httpx2.HTTPError, OSError)):
        text = "the connection failed: " + plain
    else:
        log.warning("a webhook attempt failed unexpectedly", exc_info=True)
        text = f"unexpected {type(failure).__name__}"
    return text[:MAX_ERROR_CHARS]


def _tls_failure(failure: BaseException) -> str | None:
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: the receiver's certificate was refused ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or cause.strerror or type(cause).__name__}"
        cause = cause.__cause__ or cause.__context__
    return None


@functools.cache
def _system_trust() -> ssl.SSLContext:
    """Made once: loading the certificate authorities costs more than a fast delivery."""
    return ssl.create_default_context()
