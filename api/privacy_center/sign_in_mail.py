"""The mail that carries a privacy-center link, and the look-up that decides whether it is sent.

Sent straight to the mail server (api/notifications/smtp.py), not through the outbox: the
link is a secret for fifteen minutes and must not rest in a table. Written in the page's
language, text and HTML, in the layout of every ledger mail (api/templates/mail/layout.*).

`send_if_known` runs after the answer has been sent (a background task of the sign-in), so
neither the answer nor its timing says whether the address is known: an unknown or erased
address gets no mail, and nothing else happens.
"""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.notifications.mail import LINE_WIDTH, TEMPLATES, one_line
from api.notifications.smtp import MailFailed, SmtpSender
from api.privacy_center import links
from api.privacy_center.texts import words
from api.settings import Settings
from projections.read_models.queries.contract import ReadSide

log = logging.getLogger(__name__)
TEMPLATE = "privacy_center/link_mail.jinja"


def _prose(value: object) -> str:
    return textwrap.fill(
        " ".join(str(value).split()), LINE_WIDTH, break_long_words=False, break_on_hyphens=False
    )


def _environment(autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=autoescape, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    environment.filters["one_line"] = one_line
    environment.filters["prose"] = _prose
    return environment


_TEXT, _HTML = _environment(False), _environment(True)


def compose(settings: Settings, recipient: str, link: str, expires_at: int, lang: str) -> EmailMessage:
    until = datetime.fromtimestamp(expires_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    values = {"w": words(lang), "until": until, "link_url": link, "language_code": lang}
    text = _TEXT.get_template(TEMPLATE).make_module({**values, "layout": "mail/layout.txt"})
    html = _HTML.get_template(TEMPLATE).make_module({**values, "layout": "mail/layout.html"})
    message = EmailMessage()
    message["Subject"] = one_line(getattr(text, "subject"))
    message["From"] = settings.mail_from
    message["To"] = formataddr(("", recipient))
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(str(text), cte="quoted-printable")
    message.add_alternative(str(html), subtype="html", cte="quoted-printable")
    message["Content-Language"] = lang
    return message


def send_if_known(
    settings: Settings, reads: ReadSide, email: str, lang: str, now: float
) -> None:
    """Mails a link when the address belongs to a subject who is not erased; else nothing."""
    try:
        known = [s for s in reads.subjects_by_email(email) if not s.get("erased")]
        if not known or settings.smtp_url is None:
            return
        link, expires_at = links.mint(settings, email, lang, now)
        message = compose(settings, email, link, expires_at, lang)
        SmtpSender(settings.smtp_url.get_secret_value()).send(message)
    except MailFailed as failed:
        # Not the reason: it may name the address, which is personal data (and known).
        log.warning("a privacy-center link could not be mailed (permanent: %s)", failed.permanent)
    except Exception:  # after the answer: nobody to tell but the log
        log.exception("a privacy-center link could not be mailed")
