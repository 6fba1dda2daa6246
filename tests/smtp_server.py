"""A real SMTP server for the tests: aiosmtpd on a free loopback port, in a thread, keeping
every message it accepts (parsed with the modern e-mail API, `policy.default`).

    with SmtpServer() as server:                      # plain SMTP
        SmtpSender(server.url).send(message)
        [received] = server.wait_for(1)               # an EmailMessage
    with SmtpServer(tls="starttls", credentials=("mailer", "s3cret")) as server:
        server.url  # smtp+starttls://mailer:s3cret@127.0.0.1:PORT?cafile=...

`tls`: None (plain), "starttls" (STARTTLS required before anything is sent) or "implicit"
(smtps, TLS from the first byte), with a certificate for localhost and 127.0.0.1 issued by a
certificate authority made for the server (`cafile`). `credentials`: the one user and password
it accepts (AUTH is then required with STARTTLS; otherwise offered, as a relay on the same
machine does). `refuse`: recipient address -> the reply that refuses it ("550 5.1.1 ...",
"452 4.2.2 ...").
"""

from __future__ import annotations

import socket
import tempfile
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.webhook_receiver import Certificate

TLS_MODES = (None, "starttls", "implicit")


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool  # the message came over TLS
    login: str | None  # the user that authenticated, if one did


class SmtpServer:
    def __init__(
        self, *, tls: str | None = None, credentials: tuple[str, str] | None = None,
        refuse: dict[str, str] | None = None,
    ) -> None:
        if tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {TLS_MODES}")
        self.tls, self.credentials, self.refuse = tls, credentials, dict(refuse or {})
        self.received: list[Received] = []
        self.logins: list[str] = []  # every successful AUTH, in order
        self._arrived = threading.Condition()
        self._folder = tempfile.TemporaryDirectory(prefix="smtp-server-")
        self.cafile: Path | None = None
        self._controller: Controller | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        assert self._controller is not None, "start the server first"
        return self._controller.port

    @property
    def url(self) -> str:
        """The LEDGER_SMTP_URL that reaches this server, with its credentials and CA."""
        scheme = {None: "smtp", "starttls": "smtp+starttls", "implicit": "smtps"}[self.tls]
        user = ""
        if self.credentials:
            user = f"{quote(self.credentials[0], safe='')}:{quote(self.credentials[1], safe='')}@"
        query = f"?cafile={quote(str(self.cafile))}" if self.cafile else ""
        return f"{scheme}://{user}{self.host}:{self.port}{query}"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._arrived:
            return [received.message for received in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages, once that many have arrived; AssertionError if they
        have not within `timeout` seconds."""
        with self._arrived:
            arrived = self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} messages arrived"
            return [received.message for received in self.received[:count]]

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = {"server_hostname": "localhost"}  # no DNS lookup of our name
        if self.tls:
            certificate = Certificate.issue("localhost", self.host)
            self.cafile = Path(self._folder.name) / "ca.pem"
            self.cafile.write_bytes(certificate.authority_pem)
            if self.tls == "starttls":
                kwargs.update(tls_context=certificate.serving(), require_starttls=True)
            else:
                kwargs.update(ssl_context=certificate.serving())
        if self.credentials:
            # aiosmtpd knows of STARTTLS only: over implicit TLS it would think AUTH in clear.
            starttls = self.tls == "starttls"
            kwargs.update(
                authenticator=self._authenticate, auth_required=starttls,
                auth_require_tls=starttls,
            )
        listening = socket.create_server((self.host, 0))
        self._controller = _Controller(_Handler(self), listening, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
        self._folder.cleanup()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any,
    ) -> AuthResult:
        given = (
            (auth_data.login.decode(), auth_data.password.decode())
            if isinstance(auth_data, LoginPassword) else None
        )
        if given is None or given != self.credentials:
            return AuthResult(success=False, handled=False)
        with self._arrived:
            self.logins.append(given[0])
        return AuthResult(success=True, auth_data=auth_data)

    def _arrive(self, received: Received) -> None:
        with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str],
    ) -> str:
        if address in self.server.refuse:
            return self.server.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.login_data.decode() if session.authenticated else None
        self.server._arrive(Received(
            envelope.mail_from, list(envelope.rcpt_tos), message,
            tls=session.ssl is not None or self.server.tls == "implicit", login=login,
        ))
        return "250 Message accepted for delivery"


class _Controller(Controller):
    """Listens on a socket bound before it starts, so that the port is free and ours: no
    window in which another test could take a port picked and closed."""

    def __init__(self, handler: _Handler, listening: socket.socket, **kwargs: Any) -> None:
        self._listening = listening
        super().__init__(handler, hostname="127.0.0.1", port=listening.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listening, ssl=self.ssl_context
        )
