"""The ledger's e-mail: one message per notice and recipient, in English or Dutch, as plain text
with a simple HTML alternative, made from the Jinja2 templates in api/templates/mail/.

Each kind has one template per language (`<kind>.<language>.jinja`) that says what the message
says: its subject, greeting, paragraphs, facts and the label of its link. One layout per format
(`layout.txt`, `layout.html`) says how it looks, so the same template renders both parts: once
without escaping for the text, once with autoescape for the HTML. To change the wording, edit
the kind's template; to add a language, add a template per kind and name it in `LANGUAGES`.

Context values come from events that people typed (an incident's title, a ticket), so none may
shape the message: the HTML escapes them, the subject and every fact are one line, a link is
only a link when it is http(s), and the addresses are checked to be one address each.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from domain.notifications import NoticeType

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"
LINE_WIDTH = 72  # the text part's paragraphs, as mail readers expect
SUBJECT_LENGTH = 200  # an incident's title may be long; a subject line should not be

_ACCESS_DECIDED = ("request_id", "tenant_id", "scope", "resources", "valid_until", "link")
_DATA_REQUEST_CLOCK = ("request_id", "kind", "due_at", "link")
_AUTHORITY_CLOCK = ("incident_id", "title", "authority_due_at", "link")
# Each kind that is mailed, with the context its templates read.
CONTEXT_KEYS: dict[str, tuple[str, ...]] = {
    NoticeType.ACCESS_REQUESTED.value: (
        "requester", "scope", "resources", "ticket", "expires_at", "decide_url", "tenant_id",
    ),
    NoticeType.ACCESS_APPROVED.value: _ACCESS_DECIDED,
    NoticeType.ACCESS_DENIED.value: _ACCESS_DECIDED,
    NoticeType.ACCESS_EXPIRED.value: _ACCESS_DECIDED,
    NoticeType.INCIDENT_REPORTED.value: (
        "incident_id", "title", "severity", "aware_at", "description", "link",
    ),
    NoticeType.DATA_REQUEST_DUE_SOON.value: _DATA_REQUEST_CLOCK,
    NoticeType.DATA_REQUEST_OVERDUE.value: _DATA_REQUEST_CLOCK,
    NoticeType.INCIDENT_AUTHORITY_DUE_SOON.value: _AUTHORITY_CLOCK,
    NoticeType.INCIDENT_OVERDUE.value: _AUTHORITY_CLOCK,
}
MAIL_NOTICES: tuple[str, ...] = tuple(CONTEXT_KEYS)
_LINK_KEYS = ("decide_url", "link")


def one_line(value: Any) -> str:
    """`value` as a single line: line breaks, tabs, other control and invisible format
    characters (a right-to-left override, say) become spaces, and runs of spaces one; a list
    is its items, comma-separated. Markup stays Markup, so that it is not escaped twice."""
    if isinstance(value, (list, tuple)):
        return ", ".join(one_line(item) for item in value)
    text = "" if value is None else str(value)
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return Markup(flat) if isinstance(value, Markup) else flat


def _prose(value: Any) -> str:
    """A paragraph of the text part, written across several lines of its template."""
    return textwrap.fill(
        " ".join(str(value).split()), LINE_WIDTH, break_long_words=False,
        break_on_hyphens=False,
    )


def _environment(autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=autoescape, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=lambda value: "" if value is None else value,  # a missing value, not "None"
    )
    environment.filters["one_line"] = one_line
    environment.filters["prose"] = _prose
    return environment


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def language_of(language: str | None) -> str:
    """"nl", "NL" and "nl-BE" are Dutch; anything that is not a language we write, English."""
    base = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def compose(
    notice_type: str, language: str, context: dict, *, sender: str, recipient: str,
) -> EmailMessage:
    """The message telling `recipient` of a notice of `notice_type` (one of MAIL_NOTICES),
    in `language`. Context keys a kind reads (CONTEXT_KEYS) that are missing count as None:
    their line is left out, and a message without an http(s) link has no link. ValueError
    for a kind that is not mailed or an address that is not exactly one address."""
    if notice_type not in CONTEXT_KEYS:
        raise ValueError(f"no e-mail is written for notices of type {notice_type!r}")
    sender_name, sender_address = _one_address("sender", sender)
    recipient_name, recipient_address = _one_address("recipient", recipient)
    language = language_of(language)
    values = {**_values(notice_type, context), "language_code": language}
    name = f"mail/{notice_type}.{language}.jinja"
    text = _TEXT.get_template(name).make_module({**values, "layout": "mail/layout.txt"})
    html = _HTML.get_template(name).make_module({**values, "layout": "mail/layout.html"})
    subject = one_line(getattr(text, "subject"))
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1].rstrip() + "…"

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((sender_name, sender_address))
    message["To"] = formataddr((recipient_name, recipient_address))
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2])
    # An automatic notice: out-of-office replies and the like should not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable keeps both parts readable as sent (Dutch letters and all), and long
    # lines (a link, an incident's description) within what SMTP allows.
    message.set_content(str(text), cte="quoted-printable")
    message.add_alternative(str(html), subtype="html", cte="quoted-printable")
    message["Content-Language"] = language  # after the content: set_content drops it
    return message


def _values(notice_type: str, context: dict) -> dict[str, Any]:
    values = {key: context.get(key) for key in CONTEXT_KEYS[notice_type]}
    if "resources" in values:
        values["resources"] = _listed(values["resources"])
    link_key = next(key for key in _LINK_KEYS if key in values)
    return {**values, "link_url": _link(values[link_key])}


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        return [str(value)]
    return [str(item) for item in value]


def _link(value: Any) -> str | None:
    """Only a web address is a link: a `javascript:` or `data:` one never reaches the HTML."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not _printable(url):
        return None
    return url


def _printable(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


def _one_address(field: str, value: str) -> tuple[str, str]:
    if not isinstance(value, str) or not _printable(value):
        raise ValueError(f"the {field} must be one e-mail address on one line")
    found = getaddresses([value])
    if len(found) != 1 or "@" not in found[0][1] or not found[0][1].rpartition("@")[2]:
        raise ValueError(f"the {field} must be exactly one e-mail address, not {value!r}")
    return found[0]
