"""No secret and no personal data in any log line, whichever library logs it.

The first defence is that nothing logs them: personal fields are encrypted before they leave
the domain, bodies and headers are never logged by this code. This module is the second:
`install_redaction` replaces Python's log-record factory, so every record of every logger
(ours, uvicorn's access log, eventsourcing, psycopg, httpx, ...) is scrubbed the moment it is
made, before any handler or formatter sees it:

- the secrets this process knows (master key, token secret, signing key) wherever they appear;
- bearer and basic credentials, JWTs, PEM blocks, the portal's cookies;
- unsubscribe tokens in `/v1/unsubscribe/<token>` paths;
- every query-string value except those of the API's own harmless paging and filter
  parameters (so `?link=<login link>` or any `?token=` is never written out);
- anything shaped like an email address or an international phone number.

A name cannot be recognised by its shape; names stay out of the logs because they are never
logged (tests/reliability/test_secrets_and_logs.py runs the journeys at DEBUG to prove it).
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from api import keyfiles
from api.settings import Settings

REDACTED = "[redacted]"

# Query parameters whose values are paging, filters or formats: kept, since they help to
# read a log and carry nothing secret or personal. Every other value is redacted.
SAFE_QUERY_PARAMETERS = frozenset({
    "after", "limit", "min_position", "format", "status", "overdue", "since", "until",
    "outcome", "index", "tree_size", "first", "second", "as_of", "tenant_id", "kind",
})

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL), REDACTED),
    (re.compile(r"\b(bearer|basic)(\s+)[\w\-.~+/]+=*", re.IGNORECASE), rf"\1\2{REDACTED}"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]*\.[\w-]*"), REDACTED),  # a JWT: '{"' in base64url
    (re.compile(r"(ledger_portal\w*=)[^;\s'\"&]+"), rf"\1{REDACTED}"),
    (re.compile(r"(/v1/unsubscribe/)[^\s?#'\"/]+"), rf"\1{REDACTED}"),
    (re.compile(r"[\w.%+\-]+@(?:[\w\-]+\.)+[^\W\d_]{2,}"), REDACTED),  # an email address
    (re.compile(r"\+\d[\d ()\-]{6,}\d"), REDACTED),  # an international phone number
]
_QUERY_VALUE = re.compile(r"([?&])([^=&\s'\"#?]+)=([^&\s'\"#]*)")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """`text` with every secret and personal-looking part replaced by "[redacted]"."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return _QUERY_VALUE.sub(_query_value, text)


def _query_value(match: re.Match[str]) -> str:
    separator, name, value = match.groups()
    if name.lower() in SAFE_QUERY_PARAMETERS or not value:
        return match.group(0)
    return f"{separator}{name}={REDACTED}"


def known_secrets(settings: Settings) -> list[str]:
    """The secrets of this configuration in every spelling a log line could hold them."""
    found: list[str] = []
    master, _ = keyfiles.legacy_master_key(settings)
    if master is not None:
        found += [base64.b64encode(master).decode(), base64.urlsafe_b64encode(master).decode(),
                  master.hex()]
    # The KEKs there are now; later epochs' keys are never logged by the ledger's own code.
    for kek in sorted(keyfiles.key_dir(settings).glob("epoch-*.kek")):
        text = kek.read_text().strip()
        found += [text, base64.b64decode(text).hex()]
    found.append(keyfiles.auth_secret(settings))
    if settings.metrics_token is not None:
        found.append(settings.metrics_token.get_secret_value())
    if settings.oidc_portal_client_secret is not None:
        found.append(settings.oidc_portal_client_secret.get_secret_value())
    if settings.smtp_url is not None:  # the mail server's password, as written and as meant
        url = settings.smtp_url.get_secret_value()
        password = urlsplit(url).password
        found += [url, password or "", unquote(password or "")]
    if settings.signing_key is not None:
        pem = settings.signing_key.get_secret_value()
    else:
        path = settings.data_dir / keyfiles.SIGNING_KEY_FILE
        pem = path.read_text() if path.exists() else ""
    # The PEM's base64 lines on their own: a PEM printed one line at a time is still a secret.
    found += [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return found


def install_redaction(secrets: Iterable[str] = ()) -> None:
    """Scrub every log record this process makes from now on. Safe to call again (each app
    of a test run adds its own secrets); the factory is installed once."""
    global _installed
    with _lock:
        # Short strings would redact ordinary words; every real secret is long.
        _secrets.update(secret for secret in secrets if secret and len(secret) >= 12)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def scrubbed_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(scrubbed_record)
        _installed = True


def _scrub(record: logging.LogRecord) -> None:
    # The arguments are scrubbed one by one, keeping their shape: uvicorn's access formatter
    # unpacks its five arguments, and numbers must stay numbers for %d.
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif not isinstance(record.msg, (int, float)):
        text = str(record.msg)
        scrubbed = redact(text)
        if scrubbed != text:
            record.msg = scrubbed
    if isinstance(record.args, tuple):
        record.args = tuple(_scrub_value(arg) for arg in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _scrub_value(value) for key, value in record.args.items()}
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Exception messages can quote the input that caused them; the text is made here,
        # scrubbed, and formatters use it instead of formatting the exception again.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _scrub_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        scrubbed = redact(text)
        return value if scrubbed == text else scrubbed.encode()
    text = value if isinstance(value, str) else str(value)
    scrubbed = redact(text)
    if isinstance(value, str) or scrubbed != text:
        return scrubbed
    return value  # an object with nothing to hide keeps its type (and its own %r)
