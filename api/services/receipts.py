"""Consent receipts: one per consent given or withdrawn, with the fields of ISO/IEC TS 27560.

A receipt is built from the Subject's own ConsentGiven / ConsentWithdrawn event, so it can
be produced again at any time and always agrees with the ledger. Its record id is the
event's identity (`<subject id>:<version>`), which also names the event an auditor can
prove with a Merkle inclusion proof.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

from domain.ledger import Ledger
from domain.errors import NotFound
from domain.subject import Subject
from domain import values
from domain.vocabulary import ConsentStatus

SCHEMA_VERSION = "ISO/IEC TS 27560:2023; compliance-ledger receipt 1"
LEGAL_BASIS = "GDPR Art. 6(1)(a) consent"


@dataclass(frozen=True)
class Controller:
    """Who is responsible for the processing (configured: see controller_from_settings)."""

    name: str = "The service provider"
    contact: str = "privacy@example.org"
    jurisdiction: str = "NL"  # the AVG, the Dutch implementation of the GDPR
    notice_url: str | None = None


DEFAULT_CONTROLLER = Controller()


def controller_from_settings(settings: Any) -> Controller:
    """Reads `controller_name`, `controller_contact`, `jurisdiction` and `privacy_notice_url`
    from the settings when they exist there, else the defaults."""
    public_url = getattr(settings, "public_url", None)
    return Controller(
        name=getattr(settings, "controller_name", None) or DEFAULT_CONTROLLER.name,
        contact=getattr(settings, "controller_contact", None) or DEFAULT_CONTROLLER.contact,
        jurisdiction=getattr(settings, "jurisdiction", None) or DEFAULT_CONTROLLER.jurisdiction,
        notice_url=getattr(settings, "privacy_notice_url", None)
        or (f"{public_url.rstrip('/')}/privacy" if public_url else None),
    )


@dataclass(frozen=True)
class ConsentReceipt:
    record_id: str
    schema_version: str
    subject_id: str
    purpose: str
    state: str
    time: datetime
    method: str
    channel: str | None
    notice: str | None
    notice_version: str | None
    controller: str
    controller_contact: str
    jurisdiction: str
    legal_basis: str
    recorded_by: str

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.astimezone(timezone.utc).isoformat()
        return data


CONSENT_EVENTS = (Subject.ConsentGiven, Subject.ConsentWithdrawn)


def record_id(event: Any) -> str:
    return f"{event.originator_id}:{event.originator_version}"


def receipts_from_events(
    events: Iterable[Any], controller: Controller = DEFAULT_CONTROLLER
) -> list[ConsentReceipt]:
    """Receipts for every consent event among `events` (one subject's, in order).

    A withdrawal need not name a notice version; its receipt names the version under which
    that consent was last given, which is the notice the withdrawal ends."""
    last_notice: dict[str, str | None] = {}
    receipts = []
    for event in events:
        if not isinstance(event, CONSENT_EVENTS):
            continue
        given = isinstance(event, Subject.ConsentGiven)
        notice_version = event.notice_version or last_notice.get(event.purpose)
        if given:
            last_notice[event.purpose] = event.notice_version
        receipts.append(
            ConsentReceipt(
                record_id=record_id(event),
                schema_version=SCHEMA_VERSION,
                subject_id=str(event.originator_id),
                purpose=event.purpose,
                state=(ConsentStatus.GIVEN if given else ConsentStatus.WITHDRAWN).value,
                time=event.timestamp,
                method=event.method,
                channel=event.channel,
                notice=controller.notice_url,
                notice_version=notice_version,
                controller=controller.name,
                controller_contact=controller.contact,
                jurisdiction=controller.jurisdiction,
                legal_basis=LEGAL_BASIS,
                recorded_by=event.actor,
            )
        )
    return receipts


def consent_receipts(
    ledger: Ledger, subject_id: UUID, controller: Controller = DEFAULT_CONTROLLER,
    purpose: str | None = None,
) -> list[ConsentReceipt]:
    """Oldest first; NotFound for an unknown subject. An erased subject's receipts remain:
    they hold no personal field, only what was decided, when and how."""
    receipts = receipts_from_events(ledger.subject_events(subject_id), controller)
    if purpose is not None:
        wanted = values.purpose(purpose).value  # an unknown purpose is 422, not an empty list
        receipts = [r for r in receipts if r.purpose == wanted]
    return receipts


def consent_receipt(
    ledger: Ledger, subject_id: UUID, receipt_id: str, controller: Controller = DEFAULT_CONTROLLER
) -> ConsentReceipt:
    for receipt in consent_receipts(ledger, subject_id, controller):
        if receipt.record_id == receipt_id:
            return receipt
    raise NotFound(f"no consent receipt {receipt_id} for subject {subject_id}")
