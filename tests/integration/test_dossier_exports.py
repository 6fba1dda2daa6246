"""A subject's export holds everything kept about them, the same in xlsx, JSON and CSV."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import pytest
from openpyxl import load_workbook

from api.services.access_log_csv import access_log_csv
from api.services.delivery import deliver_export
from api.services.dossier import KINDS, build_dossier
from api.services.export_formats import render, sha256_hex, to_csv_zip, to_json, to_xlsx
from api.bootstrap import Stores
from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import InvalidInput, NotFound, StateConflict
from domain.personal import ERASED

NAME = "=HYPERLINK(\"http://evil.example\",\"Zoë\")"  # a name a spreadsheet would run
EMAIL = "zoe@example.org"


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    """What goes through the store runs on a SQLite file and PostgreSQL; the formats'
    details are checked on a ledger in memory, which is quicker and the same code."""
    return durable_database_url


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(clock=MovableClock())


def _history(ledger: Ledger) -> dict[str, Any]:
    """A subject with something of every kind, and neighbours whose data must stay out."""
    tenant = ledger.open_tenant("Acme B.V.", "officer").aggregate
    other_tenant = ledger.open_tenant("Other B.V.", "officer").aggregate
    zoe = ledger.register_subject(NAME, EMAIL, "signup", tenant.id, "+31612345678").aggregate
    bob = ledger.register_subject("Bob", "bob@example.org", "signup", tenant.id).aggregate
    ledger.give_consent(zoe.id, "info_mail", "double_opt_in", "v1", "signup", "email", "203.0.113.7")
    ledger.clock.move(hours=1, microseconds=123456)
    ledger.rectify_subject(zoe.id, "officer", email="zoe.new@example.org")
    ledger.withdraw_consent(zoe.id, "info_mail", "web_form", "portal")
    request = ledger.receive_data_request(zoe.id, "access", "email", "officer",
                                          details="Line one\x0bline two").aggregate
    ledger.verify_identity(request.id, "passport seen at the desk", "officer")
    grant = ledger.request_access(tenant.id, "staff-1", "read", ["subjects"], "ticket 7").aggregate
    ledger.approve_access(grant.id, "customer-1")
    ledger.use_access(grant.id, "staff-1", f"subjects/{zoe.id}", "read")
    ledger.use_access(grant.id, "staff-1", f"subjects/{bob.id}", "read")
    other_grant = ledger.request_access(other_tenant.id, "staff-2", "read", ["x"], "t").aggregate
    ledger.approve_access(other_grant.id, "customer-2")
    ledger.use_access(other_grant.id, "staff-2", f"x/{zoe.id}", "read")  # not her tenant's data
    ledger.record_disclosure(tenant.id, "Police NL", "court_order", "ORDER-1", "officer", [zoe.id])
    ledger.record_disclosure(tenant.id, "Auditor", "legal_obligation", "REF-2", "officer", [bob.id])
    return {"tenant": tenant, "zoe": zoe, "bob": bob, "request": request}


def _from_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def _same_moment(xlsx_value: Any, json_value: Any) -> bool:
    """Excel keeps times to the millisecond and without a zone (they are UTC)."""
    if isinstance(json_value, datetime) and json_value.tzinfo is not None:
        if not isinstance(xlsx_value, datetime) or xlsx_value.tzinfo is not None:
            return False
        utc = json_value.astimezone(timezone.utc).replace(tzinfo=None)
        return abs(xlsx_value - utc) < timedelta(milliseconds=1)
    return xlsx_value == json_value


def test_the_xlsx_export_read_back_holds_the_same_rows_as_the_json(stores: Stores) -> None:
    ledger = stores.ledger
    made = _history(ledger)
    dossier = build_dossier(ledger, made["zoe"].id)

    document = json.loads(to_json(dossier))
    book = load_workbook(io.BytesIO(to_xlsx(dossier)))

    assert set(document["sheets"]) == set(KINDS)
    for kind in KINDS:
        rows = document["sheets"][kind]
        sheet = book[dossier.sheet(kind).title]
        header = [c.value for c in sheet[1]]
        assert header == list(dossier.sheet(kind).columns)
        read_back = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
        assert len(read_back) == len(rows), kind
        for xlsx_row, json_row in zip(read_back, rows):
            for column in header:
                expected = _from_json(json_row[column])
                if isinstance(expected, str):
                    expected = expected.replace("\x0b", "\\x0b")  # xlsx cannot hold it
                assert _same_moment(xlsx_row[column], expected), (kind, column)


def test_the_export_holds_her_data_and_nobody_elses(stores: Stores) -> None:
    ledger = stores.ledger
    made = _history(ledger)
    zoe, bob = made["zoe"], made["bob"]
    sheets = json.loads(to_json(build_dossier(ledger, zoe.id)))["sheets"]

    [profile] = sheets["profile"]
    assert (profile["name"], profile["email"]) == (NAME, "zoe.new@example.org")
    assert [row["email"] for row in sheets["profile_history"]] == [EMAIL, "zoe.new@example.org"]
    assert [(r["state"], r["ip_address"]) for r in sheets["consents"]] == [
        ("given", "203.0.113.7"), ("withdrawn", None)
    ]
    [request] = sheets["requests"]
    assert (request["kind"], request["identity_method"]) == ("access", "passport seen at the desk")
    assert [d["recipient"] for d in sheets["disclosures"]] == ["Police NL"]
    assert [a["resource"] for a in sheets["accesses"]] == [f"subjects/{zoe.id}"]
    everything = json.dumps(sheets)
    assert str(bob.id) not in everything and "bob@example.org" not in everything


def test_the_spreadsheet_shows_a_bold_frozen_header_real_dates_and_never_runs_a_formula(ledger: Ledger) -> None:
    made = _history(ledger)
    dossier = build_dossier(ledger, made["zoe"].id)
    book = load_workbook(io.BytesIO(to_xlsx(dossier)))
    profile = book[dossier.sheet("profile").title]
    header = [c.value for c in profile[1]]

    assert all(cell.font.bold for cell in profile[1])
    assert profile.freeze_panes == "A2"
    name = profile.cell(row=2, column=header.index("name") + 1)
    assert name.data_type == "s" and name.value == NAME
    registered = profile.cell(row=2, column=header.index("registered_at") + 1)
    assert isinstance(registered.value, datetime) and registered.is_date
    assert "UTC" in profile.cell(row=1, column=header.index("registered_at") + 1).comment.text
    assert profile.column_dimensions["C"].width > 10  # the name column fits the name


def test_the_csv_export_is_a_zip_with_one_file_per_kind_safe_for_spreadsheets(ledger: Ledger) -> None:
    made = _history(ledger)
    dossier = build_dossier(ledger, made["zoe"].id)
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(dossier))) as archive:
        names = archive.namelist()
        profile = list(csv.DictReader(io.StringIO(archive.read("profile.csv").decode("utf-8-sig"))))
        consents = list(csv.DictReader(io.StringIO(archive.read("consents.csv").decode("utf-8-sig"))))
    assert sorted(names) == sorted(["about.csv"] + [f"{k}.csv" for k in KINDS])
    assert profile[0]["name"] == "'" + NAME  # shown as text, never run
    assert profile[0]["phone"] == "'+31612345678"
    assert [c["state"] for c in consents] == ["given", "withdrawn"]
    assert datetime.fromisoformat(consents[0]["time"]).tzinfo is not None


def test_the_same_dossier_gives_the_same_bytes_so_a_delivery_hash_can_be_checked(ledger: Ledger) -> None:
    made = _history(ledger)
    dossier = build_dossier(ledger, made["zoe"].id)
    for fmt in ("xlsx", "json", "csv"):
        first, again = render(dossier, fmt), render(dossier, fmt)
        assert first.content == again.content and first.sha256 == sha256_hex(again.content)
    with pytest.raises(InvalidInput) as error:
        render(dossier, "pdf")
    assert error.value.field == "format"


def test_fulfilling_an_access_request_records_the_hash_of_the_delivered_export(stores: Stores) -> None:
    ledger = stores.ledger
    made = _history(ledger)

    delivered, outcome = deliver_export(ledger, made["request"].id, "officer", "xlsx")

    assert outcome.aggregate.delivery_sha256 == hashlib.sha256(delivered.content).hexdigest()
    [request] = json.loads(to_json(build_dossier(ledger, made["zoe"].id)))["sheets"]["requests"]
    assert request["status"] == "fulfilled"
    assert request["delivery_sha256"] == sha256_hex(delivered.content)
    assert request["delivery_format"] == "xlsx"
    assert delivered.filename.endswith(".xlsx")


def test_an_export_is_not_delivered_before_identity_is_verified_nor_for_an_erasure(
    ledger: Ledger,
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", "app").aggregate
    access = ledger.receive_data_request(subject.id, "portability", "email", "officer").aggregate
    erasure = ledger.receive_data_request(subject.id, "erasure", "email", "officer").aggregate
    ledger.verify_identity(erasure.id, "id card", "officer")
    before = ledger.recorder.max_notification_id()

    with pytest.raises(StateConflict):
        deliver_export(ledger, access.id, "officer", "json")
    with pytest.raises(StateConflict):
        deliver_export(ledger, erasure.id, "officer", "json")
    assert ledger.recorder.max_notification_id() == before
    assert not ledger.subject(subject.id).erased


def test_an_erased_subjects_export_keeps_the_record_but_no_personal_data(stores: Stores) -> None:
    ledger = stores.ledger
    made = _history(ledger)
    ledger.erase_subject(made["zoe"].id, "officer")
    dossier = build_dossier(ledger, made["zoe"].id)
    everything = to_json(dossier) + to_xlsx(dossier) + to_csv_zip(dossier)
    sheets = json.loads(to_json(dossier))["sheets"]

    assert sheets["profile"][0]["erased"] is True and sheets["profile"][0]["name"] == ERASED
    assert len(sheets["consents"]) == 2 and sheets["consents"][0]["ip_address"] == ERASED
    assert b"zoe@example.org" not in everything and b"203.0.113.7" not in everything


def test_an_unknown_subject_has_no_export(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        build_dossier(ledger, UUID(int=7))


def test_a_tenants_access_log_exports_as_csv_with_formulas_defused() -> None:
    at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    rows = [
        {"at": at, "actor": "staff-1", "action": "read", "resource": "=cmd|' /C calc'!A0",
         "request_id": UUID(int=1), "outcome": "allowed"},
        {"at": at.isoformat(), "actor": "officer", "action": "disclose", "resource": None,
         "request_id": None, "outcome": "disclosed", "recipient": "Police NL"},
    ]
    parsed = list(csv.DictReader(io.StringIO(access_log_csv(rows))))
    assert list(parsed[0]) == ["at", "actor", "action", "resource", "request_id", "outcome",
                               "recipient"]
    assert parsed[0]["resource"] == "'=cmd|' /C calc'!A0"
    assert parsed[0]["at"] == "2026-01-05T09:30:00+00:00"
    assert parsed[0]["request_id"] == str(UUID(int=1))
    assert (parsed[1]["outcome"], parsed[1]["recipient"], parsed[1]["resource"]) == (
        "disclosed", "Police NL", ""
    )
