"""A webhook receiver on loopback for the tests: a real HTTP(S) server in a thread that answers
as it is told and checks every delivery with the `standardwebhooks` package (not our code).

    with WebhookReceiver(secret, answers=[500, 500]) as receiver:  # then 204 for ever
        ...deliver to receiver.url...
        receiver.wait_for(3)
        assert receiver.verified and [r.verified for r in receiver.requests] == [True] * 3

An answer is a status or an `Answer`: its status, a `Retry-After` or `Location`, a `delay`
before answering, a body of `body_bytes`, and `trickle`: seconds between the bytes of the
whole answer (or of its body only, with `trickle_headers=False`). `receiver.secret` may be
changed (a rotated secret); `None` verifies nothing. Standard Webhooks receivers refuse a
`webhook-timestamp` more than 5 minutes from their clock: a test whose ledger runs on a
`MovableClock` passes `check_timestamp=False` (the signature is still the package's).

For https, pass `tls=Certificate.issue("localhost")` (from a fresh test authority; the
client trusts it with `certificate.trusting()`) or `Certificate.self_signed("localhost")`.
The receiver listens on 127.0.0.1; its `url` names "localhost" when it serves TLS (the name
on the certificate) and 127.0.0.1 otherwise.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from standardwebhooks import Webhook

CHUNK = b"x" * (64 * 1024)
MAX_REQUEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int = 204
    retry_after: str | None = None
    location: str | None = None
    delay: float = 0.0
    body_bytes: int = 0
    trickle: float = 0.0
    trickle_headers: bool = True


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    verified: bool
    failure: str | None  # why it did not verify
    payload: Any  # the verified JSON body
    bytes_sent: int = 0  # of the answer's body, before the sender stopped reading
    finished: threading.Event = field(default_factory=threading.Event)  # answer written
    answered: int = 0  # the status this request was answered with


@dataclass(frozen=True)
class Certificate:
    """A server certificate (and key) for the names given, with the context that trusts it."""

    chain_pem: bytes
    key_pem: bytes
    authority_pem: bytes

    @classmethod
    def issue(cls, *names: str) -> Certificate:
        """Issued by a new certificate authority of its own, as a real server's would be."""
        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = _certificate(ca_key, ca_key, "test authority")
        leaf = _certificate(key, ca_key, "test authority", names)
        return cls(_pem(leaf) + _pem(ca), _key_pem(key), _pem(ca))

    @classmethod
    def self_signed(cls, *names: str) -> Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(key, key, names[0], names)
        return cls(_pem(leaf), _key_pem(key), _pem(leaf))

    def trusting(self) -> ssl.SSLContext:
        """A client context that trusts this certificate's authority, and nothing else."""
        return ssl.create_default_context(cadata=self.authority_pem.decode())

    def serving(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:  # ssl reads a key from files only
            path = os.path.join(folder, "server.pem")
            with open(path, "wb") as out:
                out.write(self.key_pem + self.chain_pem)
            context.load_cert_chain(path)
        return context


class WebhookReceiver:
    def __init__(
        self, secret: str | None = None, answers: Sequence[int | Answer] = (),
        then: int | Answer = 204, tls: Certificate | None = None, check_timestamp: bool = True,
    ) -> None:
        self.secret, self.check_timestamp = secret, check_timestamp
        self._answers = [_as_answer(a) for a in answers]
        self._then = _as_answer(then)
        self._requests: list[Received] = []
        self._changed = threading.Condition()
        self.stopping = threading.Event()
        self._server = _Server(self, tls.serving() if tls else None)
        self._thread = threading.Thread(  # a short poll: stopping is quick
            target=self._server.serve_forever, args=(0.05,), name="webhook-receiver", daemon=True
        )
        self.scheme = "https" if tls else "http"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.port}/hooks"

    @property
    def requests(self) -> list[Received]:
        with self._changed:
            return list(self._requests)

    @property
    def verified(self) -> bool:
        """At least one request came, and every one verified."""
        received = self.requests
        return bool(received) and all(r.verified for r in received)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(f"{len(self._requests)} requests came, not {count}")
            return list(self._requests)

    def from_now_on(self, answer: int | Answer) -> None:
        """Answers every later request so (a receiver that was down comes back)."""
        with self._changed:
            self._answers, self._then = [], _as_answer(answer)

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[Answer, Received]:
        failure, payload = None, None
        try:
            if self.secret is None:
                raise ValueError("the receiver has no secret to verify with")
            payload = _verify(Webhook(self.secret), body, headers, self.check_timestamp)
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
        received = Received(method, path, headers, body, failure is None, failure, payload)
        with self._changed:
            self._requests.append(received)
            answer = self._answers.pop(0) if self._answers else self._then
            received.answered = answer.status
            self._changed.notify_all()
        return answer, received


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, receiver: WebhookReceiver, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver, self.tls = receiver, tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            return super().finish_request(request, client_address)
        request.settimeout(10)
        try:  # the handshake happens here, in the request's own thread
            secured = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ValueError):  # the client refused our certificate: its choice
            return None
        with secured:
            return super().finish_request(secured, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is what several tests do on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read what was received, not a log."""

    def do_POST(self) -> None:  # the sender only POSTs: any other method is a 501 here
        length = min(int(self.headers.get("content-length") or 0), MAX_REQUEST_BYTES)
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer, received = self.server.receiver._record(self.command, self.path, headers, body)
        self.close_connection = True
        try:
            self._answer(answer, received, self.server.receiver.stopping)
        except OSError:  # the sender stopped reading (its cap, its deadline): as it may
            pass
        finally:
            received.finished.set()

    def _answer(self, answer: Answer, received: Received, stopping: threading.Event) -> None:
        if answer.delay and stopping.wait(answer.delay):
            return
        lines = [f"HTTP/1.1 {answer.status} Answer", f"Content-Length: {answer.body_bytes}",
                 "Connection: close"]
        lines += [f"Retry-After: {answer.retry_after}"] if answer.retry_after else []
        lines += [f"Location: {answer.location}"] if answer.location else []
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        if answer.trickle and answer.trickle_headers:
            for index in range(len(head)):
                if stopping.wait(answer.trickle):
                    return
                self.wfile.write(head[index:index + 1])
        else:
            self.wfile.write(head)
        left = answer.body_bytes
        while left > 0 and not stopping.is_set():
            piece = CHUNK[:min(left, 1 if answer.trickle else len(CHUNK))]
            self.wfile.write(piece)
            received.bytes_sent += len(piece)
            left -= len(piece)
            if answer.trickle:
                stopping.wait(answer.trickle)


def _verify(webhook: Webhook, body: bytes, headers: dict[str, str], timely: bool) -> Any:
    """The package's own check; or, for a test whose clock stands elsewhere, the package's
    own signature for the timestamp sent, without judging how far that is from now."""
    if timely:
        return webhook.verify(body, headers)
    sent = datetime.datetime.fromtimestamp(int(headers["webhook-timestamp"]), datetime.UTC)
    if webhook.sign(headers["webhook-id"], sent, body) not in headers["webhook-signature"].split():
        raise ValueError("no signature matches")
    return json.loads(body)


def _as_answer(answer: int | Answer) -> Answer:
    return answer if isinstance(answer, Answer) else Answer(status=answer)


def _certificate(
    key: Any, issuer_key: Any, issuer: str, names: Sequence[str] = (),
) -> x509.Certificate:
    """A CA certificate without `names`, a server's with them."""
    now = datetime.datetime.now(datetime.UTC)
    subject = names[0] if names else issuer
    alt_names = [_general_name(name) for name in names]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=not names, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
