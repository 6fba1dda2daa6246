"""Sending one message to the mail server that `LEDGER_SMTP_URL` names, with the stdlib's smtplib.

    smtp://[user:password@]host[:port]            plain SMTP, port 25
    smtp+starttls://[user:password@]host[:port]   STARTTLS required, port 587
    smtps://[user:password@]host[:port]           TLS from the first byte, port 465
    ...?cafile=/path/to/ca.pem                    trust this CA (a private one) for TLS

User and password are percent-decoded. A password is only sent over TLS, or over plain SMTP to
a loopback host (a relay on the same machine): a URL that would send it in clear across the
network is refused when the sender is made, before any mail is tried. TLS checks the server's
certificate and name, always.

What an answer means for the delivery (`MailFailed.permanent`): a 5xx refusal of the recipient
or of the message is permanent, since the same message would be refused again. Everything else
(no connection, a timeout, TLS that does not verify, credentials refused, a 4xx) is temporary:
it is about the server or our set-up, and the outbox tries again on its schedule once that is
mended. The password appears in no error, log line or repr.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
QUERY_PARAMETERS = ("cafile",)


class MailFailed(Exception):
    """A message was not accepted; `permanent` says whether trying again could help."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True  # RFC 6761: always the loopback interface
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{error.smtp_code} {' '.join(str(text).split())}"


class SmtpSender:
    """Sends messages through one mail server; a new connection for each message, so that a
    server that restarted or dropped an idle connection costs nothing."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(
                "the mail server URL must be smtp://, smtp+starttls:// or smtps:// with a host"
            )
        try:
            port = parts.port
        except ValueError as bad:
            raise ValueError("the mail server URL has a port that is not a number") from bad
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - set(QUERY_PARAMETERS))
        if unknown:
            raise ValueError(
                f"the mail server URL has unknown parameters {unknown}; known: cafile"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = port or DEFAULT_PORTS[parts.scheme]
        self.timeout = timeout
        self.username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password is not None else None
        if self._password is not None and self.username is None:
            raise ValueError("the mail server URL has a password but no user")
        if self.username is not None and self._password is None:
            raise ValueError("the mail server URL has a user but no password")
        if self.username and self.scheme == "smtp" and not _is_loopback(self.host):
            raise ValueError(
                f"refusing to send the password for {self.username!r} in clear to "
                f"{self.host}: use smtp+starttls:// or smtps:// (plain smtp:// with "
                "credentials is only for a server on this machine)"
            )
        cafile = query.get("cafile", [None])[-1]
        if self.scheme == "smtp":
            self._tls = None
        else:
            try:
                self._tls = ssl.create_default_context(cafile=cafile or None)
            except (OSError, ssl.SSLError) as unreadable:
                raise ValueError(f"cannot read the CA file {cafile!r}: {unreadable}") from None

    def __repr__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"SmtpSender({self.scheme}://{user}{self.host}:{self.port})"

    def send(self, message: EmailMessage) -> str:
        """Sends `message` to its To, Cc and Bcc; returns its Message-ID (adding one when it
        has none). MailFailed when the server did not take it."""
        if message["Message-ID"] is None:
            domain = parseaddr(str(message["From"] or ""))[1].rpartition("@")[2]
            message["Message-ID"] = make_msgid(domain=domain or None)
        message_id = str(message["Message-ID"])
        try:
            with self._connect() as server:
                refused = server.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            raise self._refused(error.recipients) from None
        except smtplib.SMTPAuthenticationError as error:
            raise MailFailed(
                f"the mail server refused the credentials of {self.username!r}: "
                f"{_reply(error)}", permanent=False,
            ) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            # Refusing the message is about the message; refusing our sender, about set-up.
            permanent = isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500
            what = "message" if isinstance(error, smtplib.SMTPDataError) else "sender"
            raise MailFailed(
                f"the mail server refused the {what}: {_reply(error)}", permanent
            ) from None
        except smtplib.SMTPResponseException as error:
            raise MailFailed(f"the mail server answered {_reply(error)}", False) from None
        except smtplib.SMTPNotSupportedError as error:
            raise MailFailed(f"the mail server cannot do what we need: {error}", False) from None
        except ssl.SSLCertVerificationError as error:
            raise MailFailed(
                f"the mail server's certificate did not verify: {error.verify_message}", False
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailFailed(
                f"could not reach the mail server at {self.host}:{self.port}: "
                f"{type(error).__name__}: {error}", permanent=False,
            ) from None
        if refused:  # some recipients took it: sending it again would send it twice
            raise MailFailed(self._refused(refused).reason, permanent=True)
        return message_id

    def _connect(self) -> smtplib.SMTP:
        if self.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls
            )
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            server.ehlo()
            if self.scheme == "smtp+starttls":
                if not server.has_extn("starttls"):
                    raise smtplib.SMTPNotSupportedError("the server does not offer STARTTLS")
                server.starttls(context=self._tls)
                server.ehlo()
            if self.username is not None and self._password is not None:
                server.login(self.username, self._password)
        except BaseException:
            server.close()
            raise
        return server

    @staticmethod
    def _refused(recipients: dict) -> MailFailed:
        answers = {
            address: f"{code} {' '.join(_text(reply).split())}"
            for address, (code, reply) in recipients.items()
        }
        permanent = all(int(code) >= 500 for code, _reply_text in recipients.values())
        listed = "; ".join(f"{address}: {answer}" for address, answer in answers.items())
        return MailFailed(f"the mail server refused the recipient ({listed})", permanent)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
