"""What a person does for themselves in the privacy center, as commands on the Ledger: change a
consent, file a request, download their own export. Each is get → command → save through the
Ledger's own commands, so every rule (a closed tenant, a second open request of a kind, an
erased subject) is the domain's and refuses here as it refuses over the API.

The actor of everything recorded here is `privacy-center`: the person proved control of the
address by the one-time e-mail link, and has no vendor identity of their own; the events say
it was done by them through the center (method `web_form`, identity checked by `email_link`),
not by one of the vendor's people.

The export is "recorded like any delivery": an access request received (channel web_form),
its identity verified by the e-mail link, and fulfilled with the SHA-256 and format of the
bytes handed over, which are kept sealed as an officer's delivery is
(api/services/delivered_files.py). It is not a vendor read (no `record_vendor_read`): the
person reads their own data, and no one of the vendor's looks at it.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from domain.errors import InvalidInput
from domain.ledger import Ledger, Outcome
from domain.propagation import DownstreamSystem
from domain.vocabulary import ConsentMethod, DataRequestKind, RequestChannel

from api.services.delivered_files import DeliveredFiles
from api.services.delivery import deliver_and_keep
from api.services.export_formats import Export
from api.services.receipts import Controller

ACTOR = "privacy-center"
IDENTITY_METHOD = "email_link"
EXPORT_FORMATS = ("json", "xlsx")
LONGEST_DETAILS = 2000


def change_consent(
    ledger: Ledger, subject_id: UUID, purpose: str, give: bool, channel: str | None,
    notice_version: str,
) -> Outcome:
    """Gives or withdraws `purpose` on `channel` (None: every channel), with the notice in force."""
    method = ConsentMethod.WEB_FORM.value
    if give:
        return ledger.give_consent(subject_id, purpose, method, notice_version, ACTOR, channel)
    return ledger.withdraw_consent(
        subject_id, purpose, method, ACTOR, channel, notice_version=notice_version
    )


def file_request(
    ledger: Ledger, subject_id: UUID, kind: str, details: str | None,
    systems: Iterable[DownstreamSystem],
) -> Outcome:
    """A request received through the center, its identity verified at once by the e-mail
    link (so an erasure starts its propagation to the vendor's `systems`)."""
    if details is not None and len(details) > LONGEST_DETAILS:
        raise InvalidInput("details", f"details may be at most {LONGEST_DETAILS} characters")
    received = ledger.receive_data_request(
        subject_id, kind, RequestChannel.WEB_FORM.value, ACTOR, details or None
    )
    return ledger.verify_identity(received.aggregate.id, IDENTITY_METHOD, ACTOR, systems)


def download_export(
    ledger: Ledger, files: DeliveredFiles, subject_id: UUID, format: str,
    controller: Controller, systems: Iterable[DownstreamSystem],
) -> tuple[Export, Outcome]:
    """The person's export, recorded as the fulfilment of their access request: the one
    already open (verified now if it was not), else a new one."""
    if format not in EXPORT_FORMATS:
        raise InvalidInput("format", f"format must be one of: {', '.join(EXPORT_FORMATS)}")
    ledger.ensure_subject_data_may_leave(subject_id)  # before a request is opened for it
    request_id = ledger.subject(subject_id).open_requests.get(DataRequestKind.ACCESS.value)
    if request_id is None:
        request_id = ledger.receive_data_request(
            subject_id, DataRequestKind.ACCESS.value, RequestChannel.WEB_FORM.value, ACTOR
        ).aggregate.id
    if not ledger.data_request(request_id).identity_verified:
        ledger.verify_identity(request_id, IDENTITY_METHOD, ACTOR, systems)
    delivery = deliver_and_keep(
        ledger, request_id, ACTOR, format, controller, files, by_the_subject=True
    )
    return delivery.export, delivery.outcome
