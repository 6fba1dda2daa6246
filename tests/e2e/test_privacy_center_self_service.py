"""What a signed-in person does in the privacy center, over HTTP on every store: changes a
consent (recorded with web_form and the notice's version), downloads their export (recorded
as a fulfilled access request with the hash of the very bytes), files an erasure (identity
verified by the e-mail link, due date shown). Forms without their token, or naming someone
else's record, are refused and record nothing."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from api.settings import Settings
from domain.clock import MovableClock
from tests.e2e.conftest import Api
from tests.e2e.privacy_center_steps import center_api, signed_in, token_of
from tests.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def center(settings: Settings, tmp_path: Path, clock: MovableClock, smtp: SmtpServer) -> Iterator[Api]:
    yield from center_api(settings, tmp_path, clock, smtp, privacy_notice_version="2026-03")


def registered(api: Api, email: str, tenant: UUID | None = None) -> UUID:
    outcome = api.ledger.register_subject("Jan Jansen", email, "crm", tenant_id=tenant)
    api.caught_up(outcome.position)
    return outcome.aggregate.id


def post(api: Api, page: str, path: str, **fields: str):  # type: ignore[no-untyped-def]
    return api.client.post(path, data={"csrf_token": token_of(page), **fields})


def test_a_consent_given_and_withdrawn_here_is_recorded_with_web_form_and_the_notice_version(
    center: Api, smtp: SmtpServer
) -> None:
    subject = registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")

    given = post(center, page, "/privacy-center/me/consents", subject_id=str(subject),
                 purpose="product_mail", action="give", channel="")
    withdrawn = post(center, page, "/privacy-center/me/consents", subject_id=str(subject),
                     purpose="product_mail", action="withdraw", channel="sms")

    assert given.status_code == withdrawn.status_code == 200
    assert "Your choice was recorded" in withdrawn.text
    assert "SMS: withdrawn" in withdrawn.text and "e-mail: given" in withdrawn.text
    decisions = center.ledger.subject(subject).consents["product_mail"]
    assert decisions["*"]["method"] == "web_form" and decisions["*"]["notice_version"] == "2026-03"
    assert decisions["sms"]["status"] == "withdrawn" and decisions["sms"]["method"] == "web_form"
    history = [e for e in center.ledger.subject_events(subject) if hasattr(e, "purpose")]
    assert {e.actor for e in history} == {"privacy-center"}


def test_the_export_download_is_recorded_as_a_fulfilled_access_request_with_its_hash(
    center: Api, smtp: SmtpServer
) -> None:
    subject = registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")

    download = post(center, page, "/privacy-center/me/export", subject_id=str(subject), format="json")

    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    assert json.loads(download.content)["subject_id"] == str(subject)
    [request_id] = [e.request_id for e in center.ledger.subject_events(subject) if hasattr(e, "request_id")][:1]
    request = center.ledger.data_request(request_id)
    assert request.kind == "access" and request.status == "fulfilled" and request.channel == "web_form"
    assert request.delivery_sha256 == hashlib.sha256(download.content).hexdigest()
    assert request.delivery_format == "json"
    kept = center.app.state.container.delivered_files().fetch(request_id, request.delivery_sha256)
    assert kept.export.content == download.content
    # The person read their own data: no vendor read in any access log.
    topics = [type(e).__name__ for e in center.ledger.subject_events(subject)]
    assert not any("VendorRead" in t for t in topics)
    verified = [e for e in center.ledger.events.get(request_id) if type(e).__name__ == "IdentityVerified"]
    assert [e.method for e in verified] == ["email_link"]


def test_an_open_access_request_is_the_one_fulfilled_by_the_download(center: Api, smtp: SmtpServer) -> None:
    subject = registered(center, "jan@example.org")
    open_request = center.ledger.receive_data_request(subject, "access", "email", "olga").aggregate.id
    page = signed_in(center.client, smtp, "jan@example.org")

    download = post(center, page, "/privacy-center/me/export", subject_id=str(subject), format="xlsx")

    assert download.status_code == 200 and download.content[:2] == b"PK"
    request = center.ledger.data_request(open_request)
    assert request.status == "fulfilled" and request.delivery_format == "xlsx"


def test_an_erasure_request_is_filed_verified_by_the_email_link_and_its_due_date_shown(
    center: Api, smtp: SmtpServer, clock: MovableClock
) -> None:
    subject = registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")

    filed = post(center, page, "/privacy-center/me/requests", subject_id=str(subject),
                 kind="erasure", details="Please forget me.")

    assert filed.status_code == 200 and "Your request was received" in filed.text
    [item] = center.app.state.read.data_requests(subject_id=subject)["items"]
    assert item["kind"] == "erasure" and item["identity_verified"] is True
    assert item["channel"] == "web_form"
    assert "2026-02-05 09:00 UTC" in filed.text  # one calendar month after the clock's now
    again = post(center, page, "/privacy-center/me/requests", subject_id=str(subject), kind="erasure")
    assert again.status_code == 409 and "open request of this kind exists" in again.text


def test_a_form_without_its_token_is_refused_and_records_nothing(center: Api, smtp: SmtpServer) -> None:
    subject = registered(center, "jan@example.org")
    signed_in(center.client, smtp, "jan@example.org")
    events = center.events()

    for path, fields in (
        ("/privacy-center/me/consents", {"purpose": "info_mail", "action": "give"}),
        ("/privacy-center/me/requests", {"kind": "erasure"}),
        ("/privacy-center/me/export", {"format": "json"}),
    ):
        response = center.client.post(path, data={"subject_id": str(subject), **fields})
        assert response.status_code == 403, path
    assert center.events() == events


def test_another_persons_record_in_a_form_is_not_found_and_nothing_is_recorded(
    center: Api, smtp: SmtpServer
) -> None:
    registered(center, "jan@example.org")
    piet = registered(center, "piet@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")
    events = center.events()

    for path, fields in (
        ("/privacy-center/me/consents", {"purpose": "info_mail", "action": "give"}),
        ("/privacy-center/me/requests", {"kind": "erasure"}),
        ("/privacy-center/me/export", {"format": "json"}),
    ):
        for other in (str(piet), "not-a-uuid"):
            response = post(center, page, path, subject_id=other, **fields)
            assert response.status_code == 404 and "not one of yours" in response.text, path
    assert center.events() == events


def test_bad_form_values_are_refused_naming_the_field(center: Api, smtp: SmtpServer) -> None:
    subject = str(registered(center, "jan@example.org"))
    page = signed_in(center.client, smtp, "jan@example.org")
    events = center.events()

    cases = [
        ("/privacy-center/me/consents", {"purpose": "spam", "action": "give"}, "purpose"),
        ("/privacy-center/me/consents", {"purpose": "info_mail", "action": "maybe"}, "action"),
        ("/privacy-center/me/consents", {"purpose": "info_mail", "action": "give", "channel": "pigeon"}, "channel"),
        ("/privacy-center/me/requests", {"kind": "everything"}, "kind"),
        ("/privacy-center/me/requests", {"kind": "objection", "details": "x" * 2001}, "details"),
        ("/privacy-center/me/export", {"format": "csv"}, "format"),
    ]
    for path, fields, field in cases:
        response = post(center, page, path, subject_id=subject, **fields)
        assert response.status_code == 422, (path, fields, response.text[-500:])
        assert re.search(rf"\b{field}\b", response.text), field
    assert center.events() == events


def test_an_address_in_two_organisations_sees_both_records(center: Api, smtp: SmtpServer) -> None:
    first = center.ledger.open_tenant("Shop B.V.", "olga").aggregate.id
    second = center.ledger.open_tenant("Club B.V.", "olga").aggregate.id
    one, two = registered(center, "jan@example.org", first), registered(center, "jan@example.org", second)

    page = signed_in(center.client, smtp, "jan@example.org")

    assert f'id="record-{one}"' in page and f'id="record-{two}"' in page
    assert "Shop B.V." in page and "Club B.V." in page


def test_a_closed_organisations_record_shows_the_refusal_not_an_error(center: Api, smtp: SmtpServer) -> None:
    tenant = center.ledger.open_tenant("Shop B.V.", "olga").aggregate.id
    subject = registered(center, "jan@example.org", tenant)
    page = signed_in(center.client, smtp, "jan@example.org")
    center.caught_up(center.ledger.terminate_tenant(tenant, "olga").position)
    events = center.events()

    consent = post(center, page, "/privacy-center/me/consents", subject_id=str(subject),
                   purpose="info_mail", action="give")
    export = post(center, page, "/privacy-center/me/export", subject_id=str(subject), format="json")

    assert consent.status_code == export.status_code == 409
    assert "terminated" in consent.text and "terminated" in export.text
    assert center.events() == events


def test_a_record_erased_since_sign_in_is_no_longer_shown_or_accepted(center: Api, smtp: SmtpServer) -> None:
    subject = registered(center, "jan@example.org")
    page = signed_in(center.client, smtp, "jan@example.org")
    center.caught_up(center.ledger.erase_subject(subject, "olga").position)

    shown = center.client.get("/privacy-center/me")
    refused = post(center, page, "/privacy-center/me/consents", subject_id=str(subject),
                   purpose="info_mail", action="give")

    assert f'id="record-{subject}"' not in shown.text and "no records" in shown.text
    assert refused.status_code == 404
