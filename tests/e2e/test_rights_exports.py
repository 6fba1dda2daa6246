"""A subject's export through the HTTP API, on SQLite and PostgreSQL: the same rows in xlsx,
JSON and CSV; fulfilling an access request delivers it and records the SHA-256 of exactly the
bytes the officer received; consent receipts; erasure takes every copy with it. (What does
not depend on the store runs on SQLite only: `sqlite_api`.)"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from api.services.sweep import sweep
from domain.clock import MovableClock
from tests.conftest import make_settings
from tests.e2e.conftest import Api, User, created, fields_named, ok, open_api, problem

NAME, EMAIL = "Zoë Jansen", "zoe@example.org"
KINDS = ["profile", "profile_history", "consents", "requests", "disclosures", "accesses"]
GIVEN = {"status": "given", "channel": "email", "notice_version": "2026-01",
         "method": "double_opt_in", "ip_address": "203.0.113.7"}


@pytest.fixture
def database_url(durable_database_url: str) -> str:
    return durable_database_url


def zoe_with_a_history(api: Api) -> dict[str, str]:
    """Zoë with something of every kind held about her, and Bob, whose data must stay out."""
    officer, system = api.user("officer", "olga"), api.user("system", "crm")
    staff = api.user("staff", "sam")
    tenant = created(officer.post("/v1/tenants", json={"name": "Acme B.V."}))["id"]
    zoe = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": NAME, "email": EMAIL, "phone": "+31612345678",
    }))["id"]
    bob = created(system.post("/v1/subjects", json={
        "tenant_id": tenant, "name": "Bob", "email": "bob@example.org",
    }))["id"]
    ok(system.put(f"/v1/subjects/{zoe}/consents/info_mail", json=GIVEN))
    api.clock.move(hours=1, microseconds=250_000)
    ok(system.put(f"/v1/subjects/{zoe}/consents/info_mail",
                  json={"status": "withdrawn", "method": "web_form"}))
    ok(officer.patch(f"/v1/subjects/{zoe}", json={"email": "zoe.new@example.org"}))
    grant = created(staff.post(f"/v1/tenants/{tenant}/access-requests", json={
        "scope": "read", "resources": ["subjects"], "reason": "ticket 7", "duration_minutes": 60,
    }))["id"]
    ok(api.user("customer", "carla", tenant).post(f"/v1/access-requests/{grant}/approve"))
    for who in (zoe, bob):
        created(staff.post(f"/v1/access-requests/{grant}/accesses",
                           json={"resource": f"subjects/{who}", "action": "read"}))
    created(officer.post(f"/v1/tenants/{tenant}/disclosures", json={
        "recipient": "Police NL", "legal_basis": "court_order", "reference": "ORDER-1",
        "subject_ids": [zoe],
    }))
    request = created(officer.post(f"/v1/subjects/{zoe}/requests",
                                   json={"kind": "access", "channel": "email"}))["id"]
    ok(officer.post(f"/v1/requests/{request}/verify-identity", json={"method": "passport"}))
    return {"tenant": tenant, "zoe": zoe, "bob": bob, "request": request}


def export(officer: User, subject: str, fmt: str) -> Any:
    response = officer.get(f"/v1/subjects/{subject}/export", params={"format": fmt, "reason": "the subject asked by phone"})
    assert response.status_code == 200, response.text
    assert response.headers["x-content-sha256"] == hashlib.sha256(response.content).hexdigest()
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return response


def same_cell(xlsx_value: Any, json_value: Any) -> bool:
    """Excel cells hold times without a zone (they are written in UTC), to the millisecond."""
    if isinstance(json_value, str):
        try:
            moment = datetime.fromisoformat(json_value)
        except ValueError:
            return xlsx_value == json_value.replace("\x0b", "\\x0b")
        if moment.tzinfo is not None and isinstance(xlsx_value, datetime):
            utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return abs(xlsx_value - utc) < timedelta(milliseconds=1)
    return xlsx_value == json_value


def test_the_xlsx_export_read_back_holds_the_same_rows_as_the_json_export(api: Api) -> None:
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")

    document = export(officer, made["zoe"], "json").json()
    book = load_workbook(io.BytesIO(export(officer, made["zoe"], "xlsx").content))

    assert list(document["sheets"]) == KINDS
    assert book.sheetnames[0] == "About" and len(book.sheetnames) == 1 + len(KINDS)
    for kind, sheet in zip(KINDS, book.worksheets[1:], strict=True):
        rows = document["sheets"][kind]
        header = [cell.value for cell in sheet[1]]
        read_back = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
        if kind == "accesses":  # the second export's own read is logged after the first's
            assert read_back[-1]["outcome"] == "vendor_read"
            read_back = read_back[:-1]
        assert len(read_back) == len(rows) and (rows == [] or header == list(rows[0])), kind
        for xlsx_row, json_row in zip(read_back, rows):
            for column in header:
                assert same_cell(xlsx_row[column], json_row[column]), (kind, column)
        assert sheet.freeze_panes == "A2"
    # What she is owed, and nothing of Bob's.
    sheets = document["sheets"]
    assert sheets["profile"][0]["email"] == "zoe.new@example.org"
    assert [r["state"] for r in sheets["consents"]] == ["given", "withdrawn"]
    assert sheets["consents"][0]["ip_address"] == "203.0.113.7"
    assert [(r["resource"], r["outcome"], r["why"]) for r in sheets["accesses"]] == [
        (f"subjects/{made['zoe']}", "allowed", None),
        (f"subjects/{made['zoe']}", "vendor_read", "the subject asked by phone"),
    ]
    assert [r["recipient"] for r in sheets["disclosures"]] == ["Police NL"]
    assert [r["request_id"] for r in sheets["requests"]] == [made["request"]]


def test_the_csv_export_is_a_zip_with_one_file_per_kind_holding_the_json_rows(sqlite_api: Api) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    document = export(officer, made["zoe"], "json").json()

    response = export(officer, made["zoe"], "csv")

    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == sorted(["about.csv", *(f"{k}.csv" for k in KINDS)])
        for kind in KINDS:
            text = archive.read(f"{kind}.csv").decode("utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
            own_read = 1 if kind == "accesses" else 0  # this export's read, logged after the first
            assert len(rows) == len(document["sheets"][kind]) + own_read, kind
        profile = next(csv.DictReader(io.StringIO(archive.read("profile.csv").decode("utf-8-sig"))))
    assert profile["name"] == NAME


def test_an_unknown_export_format_is_422_naming_format(sqlite_api: Api) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    assert fields_named(officer.get(f"/v1/subjects/{made['zoe']}/export?format=pdf&reason=x")) == {"format"}
    assert fields_named(officer.post(
        f"/v1/requests/{made['request']}/fulfil", json={"format": "pdf"}
    )) == {"format"}
    problem(officer.get("/v1/subjects/00000000-0000-4000-8000-000000000000/export"), 404)


def test_fulfilling_an_access_request_records_the_sha256_of_exactly_the_bytes_delivered(
    api: Api,
) -> None:
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")

    fulfilled = ok(officer.post(f"/v1/requests/{made['request']}/fulfil", json={"format": "xlsx"}))
    received = officer.get(fulfilled["delivery"]["url"])

    assert received.status_code == 200
    delivered = hashlib.sha256(received.content).hexdigest()
    assert fulfilled["status"] == "fulfilled" and fulfilled["delivery_format"] == "xlsx"
    assert fulfilled["delivery_sha256"] == fulfilled["delivery"]["sha256"] == delivered
    assert received.headers["x-content-sha256"] == delivered
    assert len(received.content) == fulfilled["delivery"]["size"]
    # The hash is in the ledger: on the request, and in her export's requests sheet.
    stored = ok(officer.get(f"/v1/requests/{made['request']}",
                            params={"min_position": fulfilled["position"]}))
    assert stored["delivery_sha256"] == delivered
    [row] = export(officer, made["zoe"], "json").json()["sheets"]["requests"]
    assert (row["delivery_sha256"], row["delivery_format"]) == (delivered, "xlsx")
    # What was delivered is her export as it stood before it was handed over.
    book = load_workbook(io.BytesIO(received.content))
    about = {r[0].value: r[1].value for r in book["About"].iter_rows(min_row=2)}
    assert about["subject_id"] == made["zoe"]
    # Downloading again gives the very same bytes.
    assert officer.get(fulfilled["delivery"]["url"]).content == received.content


def test_a_fulfilment_without_a_format_delivers_xlsx_and_a_retry_delivers_the_same(sqlite_api: Api) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    key = {"Idempotency-Key": "fulfil-zoe-1"}

    first = ok(officer.post(f"/v1/requests/{made['request']}/fulfil", headers=key))
    events = api.events()
    again = officer.post(f"/v1/requests/{made['request']}/fulfil", headers=key)

    assert first["delivery"]["format"] == "xlsx"
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first
    assert api.events() == events
    delivered = officer.get(first["delivery"]["url"]).content
    assert hashlib.sha256(delivered).hexdigest() == first["delivery_sha256"]


def test_nothing_is_delivered_or_kept_before_the_identity_is_verified(sqlite_api: Api) -> None:
    api = sqlite_api
    officer = api.user("officer", "olga")
    subject = created(api.user("system", "crm").post(
        "/v1/subjects", json={"name": NAME, "email": EMAIL}
    ))["id"]
    request = created(officer.post(f"/v1/subjects/{subject}/requests",
                                   json={"kind": "portability", "channel": "email"}))["id"]
    events = api.events()

    refused = problem(officer.post(f"/v1/requests/{request}/fulfil", json={"format": "json"}), 409)

    assert "identity" in refused["detail"] and api.events() == events
    problem(officer.get(f"/v1/requests/{request}/delivery"), 404)


def test_a_second_open_request_of_a_kind_is_409_naming_the_open_one(sqlite_api: Api) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    again = officer.post(f"/v1/subjects/{made['zoe']}/requests",
                         json={"kind": "access", "channel": "web_form"})
    assert made["request"] in problem(again, 409)["detail"]


def test_erasing_the_subject_takes_the_delivered_copy_and_leaves_an_export_without_her(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    delivery = ok(officer.post(f"/v1/requests/{made['request']}/fulfil", json={"format": "csv"}))
    erasure = created(officer.post(f"/v1/subjects/{made['zoe']}/requests",
                                   json={"kind": "erasure", "channel": "email"}))["id"]
    ok(officer.post(f"/v1/requests/{erasure}/verify-identity", json={"method": "passport"}))

    assert fields_named(officer.post(f"/v1/requests/{erasure}/fulfil", json={"format": "json"})) == {
        "format"
    }
    ok(officer.post(f"/v1/requests/{erasure}/fulfil"))

    gone = problem(officer.get(delivery["delivery"]["url"]), 410)
    assert "erase" in gone["detail"] or "kept" in gone["detail"]
    texts = [export(officer, made["zoe"], "json").text]
    for fmt in ("xlsx", "csv"):  # both are zips: look at what they hold
        with zipfile.ZipFile(io.BytesIO(export(officer, made["zoe"], fmt).content)) as archive:
            texts += [archive.read(name).decode("utf-8") for name in archive.namelist()]
    for text in texts:
        assert "Zoë" not in text and "zoe" not in text.replace(made["zoe"], "").lower()
    document = export(officer, made["zoe"], "json").json()
    assert document["erased"] is True and document["sheets"]["profile"][0]["name"] == "[erased]"


def test_the_kept_copy_is_sealed_goes_after_30_days_and_the_sweep_deletes_it(sqlite_api: Api) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer = api.user("officer", "olga")
    delivery = ok(officer.post(f"/v1/requests/{made['request']}/fulfil", json={"format": "json"}))
    assert datetime.fromisoformat(delivery["delivery"]["kept_until"]) == api.clock.now() + timedelta(
        days=30
    )

    [(sealed,)] = api.app.state.stores.db.fetchall("SELECT sealed FROM delivered_exports")
    # Never plaintext. (Whole values: three bytes such as b"zoe" turn up by chance in a few
    # kilobytes of ciphertext about once in a few thousand runs, and did.)
    for plain in (NAME, EMAIL, "zoe.new@example.org"):
        assert plain.encode() not in bytes(sealed), plain

    api.clock.move(days=30, seconds=1)

    problem(officer.get(delivery["delivery"]["url"]), 410)
    kept = api.app.state.container.delivered_files
    assert sweep(api.ledger, api.app.state.read, delivered_files=kept).forgotten_deliveries == 1
    assert sweep(api.ledger, api.app.state.read, delivered_files=kept).forgotten_deliveries == 0


def test_the_sweep_a_running_ledger_does_by_itself_deletes_a_kept_copy_past_its_30_days(
    tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path}/ledger.sqlite", tmp_path / "var", poll_interval_ms=10,
        sweep_interval_seconds=0.05,
    )
    for api in open_api(settings, clock):
        made = zoe_with_a_history(api)
        officer = api.user("officer", "olga")
        ok(officer.post(f"/v1/requests/{made['request']}/fulfil", json={"format": "json"}))
        db = api.app.state.stores.db
        assert db.fetchall("SELECT 1 FROM delivered_exports") == [(1,)]

        api.clock.move(days=30, seconds=1)
        deadline = time.monotonic() + 10
        while db.fetchall("SELECT 1 FROM delivered_exports") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.fetchall("SELECT 1 FROM delivered_exports") == [], "the kept copy is still there"


def test_every_consent_decision_has_an_iso_27560_receipt_for_the_officer_and_auditor(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    made = zoe_with_a_history(api)
    officer, auditor = api.user("officer", "olga"), api.user("auditor", "aude")
    path = f"/v1/subjects/{made['zoe']}/consent-receipts"

    receipts = ok(officer.get(path))["items"]

    assert [(r["purpose"], r["state"], r["method"]) for r in receipts] == [
        ("info_mail", "given", "double_opt_in"), ("info_mail", "withdrawn", "web_form"),
    ]
    given = receipts[0]
    assert given == {**given, "subject_id": made["zoe"], "notice_version": "2026-01",
                     "channel": "email", "jurisdiction": "NL", "recorded_by": "crm",
                     "legal_basis": "GDPR Art. 6(1)(a) consent"}
    assert given["controller"] and given["notice"] and given["schema_version"].startswith("ISO/IEC TS 27560")
    assert receipts[1]["notice_version"] == "2026-01"  # the notice the withdrawal ends
    assert ok(auditor.get(f"{path}/{given['record_id']}")) == given
    assert ok(officer.get(path, params={"purpose": "profiling"}))["items"] == []
    assert fields_named(officer.get(path, params={"purpose": "spam"})) == {"purpose"}
    first_page = ok(officer.get(path, params={"limit": 1}))
    assert first_page["items"] == [given]
    assert ok(officer.get(path, params={"after": first_page["next"]}))["items"] == [receipts[1]]
    problem(officer.get(f"/v1/subjects/{made['bob']}/consent-receipts/{given['record_id']}"), 404)
    # The export's consent sheet holds the same receipts.
    sheet = export(officer, made["zoe"], "json").json()["sheets"]["consents"]
    assert [r["record_id"] for r in sheet] == [r["record_id"] for r in receipts]
    assert json.dumps(sheet).count("203.0.113.7") == 1
