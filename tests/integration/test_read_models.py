"""Every read model on memory, a SQLite file and the real PostgreSQL server: what the API will
answer after the projections have seen the events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import Stores
from domain.clock import MovableClock
from domain.errors import AccessRefused, InvalidInput, UnknownPurpose
from domain.personal import ERASED
from domain.vocabulary import Channel

NAME, EMAIL, PHONE = "Zoë Verhoeven", "Zoe.Verhoeven@example.org", "+31612345678"


def _tenant(stores: Stores, name: str = "Acme B.V.") -> UUID:
    return stores.ledger.open_tenant(name, "officer-1").aggregate.id


def _subject(stores: Stores, tenant_id: UUID | None, name: str = NAME, email: str = EMAIL) -> UUID:
    return stores.ledger.register_subject(name, email, "app", tenant_id, PHONE).aggregate.id


def _all_pages(fetch: Any, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        page = fetch(after=after, limit=limit)
        items += page["items"]
        after = page["next"]
        if after is None:
            return items


# Subjects and consent
def test_a_subjects_profile_shows_current_consent_per_purpose(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    subject = _subject(stores, _tenant(stores))
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app", channel="email")
    given_at = clock.move(hours=1)
    ledger.give_consent(subject, "profiling", "checkbox", "v2", "app")
    withdrawn_at = clock.move(hours=1)
    ledger.withdraw_consent(subject, "info_mail", "unsubscribe_link", "app", channel="email")
    read_side.runner.catch_up()

    profile = read_side.read_models.subject_profile(subject)
    assert (profile["name"], profile["email"], profile["phone"]) == (NAME, EMAIL, PHONE)
    assert profile["erased"] is False
    withdrawn = {"status": "withdrawn", "channel": "email", "since": withdrawn_at,
                 "notice_version": None, "method": "unsubscribe_link"}
    given = {"status": "given", "channel": None, "since": given_at, "notice_version": "v2",
             "method": "checkbox"}
    assert profile["consents"] == {
        "info_mail": {**withdrawn, "channels": {"email": withdrawn}},
        "profiling": {**given, "channels": {channel.value: given for channel in Channel}},
    }


def test_the_consent_check_tells_unknown_undecided_decided_and_erased_subjects_apart(
    stores: Stores, read_side: Any
) -> None:
    ledger = stores.ledger
    decided, undecided, erased = (_subject(stores, None) for _ in range(3))
    ledger.give_consent(decided, "info_mail", "web_form", "v1", "app", channel="email")
    ledger.give_consent(erased, "info_mail", "web_form", "v1", "app")
    ledger.erase_subject(erased, "olga")
    read_side.runner.catch_up()
    check = read_side.read_models.consent_check

    answer = check(decided, "info_mail", "email")
    assert answer["allowed"] and answer["decision"]["channel"] == "email"
    assert answer["decision"]["notice_version"] == "v1"
    assert check(decided, "info_mail", "sms")["reason"] == "consent was never given"
    assert check(decided, "profiling", "email")["allowed"] is False
    assert check(undecided, "info_mail")["reason"] == "consent was never given"
    assert check(erased, "info_mail", "email")["reason"] == "the subject was erased"
    assert check(UUID(int=7), "info_mail") is None
    with pytest.raises(UnknownPurpose):
        check(decided, "carrier_pigeons")


def test_the_consent_check_answers_from_the_events_when_the_read_side_is_behind(
    stores: Stores, read_side: Any
) -> None:
    """A withdrawal answered a moment ago (on this process or another) that the read models
    have not applied yet: the check sees the profile is behind and never says yes."""
    ledger = stores.ledger
    subject = _subject(stores, None)
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    read_side.runner.catch_up()
    assert read_side.read_models.consent_check(subject, "info_mail", "email")["allowed"]
    ledger.withdraw_consent(subject, "info_mail", "api", "app", channel="email")
    # No catch-up: the profile still says "given".
    answer = read_side.read_models.consent_check(subject, "info_mail", "email")
    assert answer["allowed"] is False and answer["reason"] == "consent was withdrawn"
    fresh = _subject(stores, None)
    assert read_side.read_models.consent_check(fresh, "info_mail")["allowed"] is False


def test_personal_fields_rest_sealed_in_the_profile_table(stores: Stores, read_side: Any) -> None:
    subject = _subject(stores, None)
    read_side.runner.catch_up()
    row = stores.db.fetchone(
        "SELECT name, email, phone FROM subject_profiles WHERE id = %s", (str(subject),)
    )
    assert row is not None and all(row)
    for stored in row:
        for plaintext in (NAME, EMAIL, PHONE, "Verhoeven"):
            assert plaintext not in stored
    assert read_side.read_models.subject_profile(subject)["name"] == NAME


def test_an_unknown_purpose_is_refused_naming_the_purpose(stores: Stores, read_side: Any) -> None:
    with pytest.raises(UnknownPurpose) as refused:
        read_side.read_models.consent_check(_subject(stores, None), "carrier_pigeons")
    assert refused.value.field == "purpose"


def test_consent_history_lists_every_decision_oldest_first_across_pages(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    subject = _subject(stores, None)
    for n in range(7):
        clock.move(minutes=5)
        if n % 2:
            stores.ledger.withdraw_consent(subject, "blog_mail", "email", "app")
        else:
            stores.ledger.give_consent(subject, "blog_mail", "web_form", f"v{n}", "app")
    read_side.runner.catch_up()

    history = _all_pages(
        lambda **page: read_side.read_models.consent_history(subject, **page), limit=3
    )
    assert [h["status"] for h in history] == ["given", "withdrawn"] * 3 + ["given"]
    assert [h["notice_version"] for h in history if h["status"] == "given"] == ["v0", "v2", "v4", "v6"]
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)


def test_a_subject_is_found_by_email_whatever_its_case(stores: Stores, read_side: Any) -> None:
    subject = _subject(stores, None)
    other = _subject(stores, None, "Bea", "bea@example.org")
    read_side.runner.catch_up()
    models = read_side.read_models
    assert models.subject_by_email("zoe.verhoeven@EXAMPLE.org ") == subject
    assert models.subject_by_email("bea@example.org") == other
    assert models.subject_by_email("nobody@example.org") is None
    hashes = [r[0] for r in stores.db.fetchall("SELECT email_hash FROM email_lookup")]
    assert len(hashes) == 2 and not any("example.org" in h for h in hashes)


def test_a_corrected_email_finds_the_subject_and_the_old_one_does_not(
    stores: Stores, read_side: Any
) -> None:
    subject = _subject(stores, None)
    stores.ledger.rectify_subject(subject, "officer-1", email="zoe@example.net", name="Zoë V.")
    read_side.runner.catch_up()
    models = read_side.read_models
    assert models.subject_by_email("zoe@example.net") == subject
    assert models.subject_by_email(EMAIL) is None
    profile = models.subject_profile(subject)
    assert (profile["name"], profile["email"], profile["phone"]) == ("Zoë V.", "zoe@example.net", PHONE)


def test_erasure_removes_the_subject_from_every_read_model(
    stores: Stores, read_side: Any
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    subject = _subject(stores, tenant)
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    request = ledger.receive_data_request(
        subject, "erasure", "email", "officer-1", details=f"{NAME} wants to be forgotten"
    ).aggregate.id
    ledger.verify_identity(request, "passport", "officer-1")
    read_side.runner.catch_up()
    assert read_side.read_models.data_request(request)["details"].startswith(NAME)

    ledger.fulfil_data_request(request, "officer-1")
    read_side.runner.catch_up()

    models = read_side.read_models
    assert models.subject_profile(subject) == {"id": str(subject), "tenant_id": str(tenant), "erased": True}
    assert models.consent_check(subject, "info_mail")["reason"] == "the subject was erased"
    assert stores.db.fetchall(
        "SELECT * FROM subject_consents WHERE subject_id = %s", (str(subject),)
    ) == []
    assert models.consent_history(subject)["items"] == []
    assert models.subject_by_email(EMAIL) is None
    assert models.data_request(request)["details"] == ERASED
    assert models.data_request(request)["status"] == "fulfilled"
    for table in ("subject_consents", "consent_history", "email_lookup"):
        assert stores.db.fetchall(f"SELECT * FROM {table} WHERE subject_id = %s", (str(subject),)) == []
    assert stores.db.fetchone(
        "SELECT name, email, phone FROM subject_profiles WHERE id = %s", (str(subject),)
    ) == (None, None, None)


def test_replaying_events_of_an_erased_subject_builds_the_same_erased_rows(
    stores: Stores, read_side: Any
) -> None:
    subject = _subject(stores, None)
    stores.ledger.give_consent(subject, "info_mail", "web_form", "v1", "app", ip_address="192.0.2.1")
    stores.ledger.erase_subject(subject, "officer-1")
    # First projected only now: every personal field decodes as "[erased]".
    read_side.runner.catch_up()
    assert read_side.read_models.subject_profile(subject)["erased"] is True
    assert read_side.read_models.subject_by_email(EMAIL) is None


def test_a_tenants_purge_erases_its_subjects_and_its_name(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant, other_tenant = _tenant(stores), _tenant(stores, "Other Ltd")
    subject = _subject(stores, tenant)
    bystander = _subject(stores, other_tenant, "Bea", "bea@example.org")
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket 7 for Zoë")
    ledger.terminate_tenant(tenant, "officer-1")
    clock.move(days=61)
    ledger.purge_tenant(tenant, "officer-1")
    read_side.runner.catch_up()

    models = read_side.read_models
    assert models.tenant(tenant)["status"] == "purged"
    assert models.tenant(tenant)["name"] == ERASED
    assert models.subject_profile(subject)["erased"] is True
    assert models.subject_by_email(EMAIL) is None
    assert models.access_request(request.aggregate.id)["reason"] == ERASED
    assert models.subject_profile(bystander)["name"] == "Bea"
    assert models.tenant(other_tenant)["name"] == "Other Ltd"


# Tenants
def test_tenants_show_status_purge_after_and_every_location_move(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    moved_at = clock.move(hours=2)
    ledger.move_tenant_location(tenant, "IE", "failover drill", "officer-1")
    ledger.move_tenant_location(tenant, "DE", "customer's wish", "officer-1")
    terminated_at = clock.move(days=1)
    ledger.terminate_tenant(tenant, "officer-1")
    read_side.runner.catch_up()

    seen = read_side.read_models.tenant(tenant)
    assert (seen["name"], seen["status"], seen["location"]) == ("Acme B.V.", "terminated", "DE")
    assert seen["purge_after"] == terminated_at + timedelta(days=60)
    assert [(m["location"], m["reason"]) for m in seen["locations"]] == [
        ("NL", None), ("IE", "failover drill"), ("DE", "customer's wish")
    ]
    assert seen["locations"][1]["since"] == moved_at

    ledger.reactivate_tenant(tenant, "officer-1")
    read_side.runner.catch_up()
    again = read_side.read_models.tenant(tenant)
    assert (again["status"], again["purge_after"]) == ("active", None)
    assert [t["id"] for t in read_side.read_models.tenants(status="active")["items"]] == [str(tenant)]
    assert read_side.read_models.tenant(UUID(int=0)) is None


# Staff access
def test_access_requests_are_listed_by_tenant_and_status_with_their_history(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant, other = _tenant(stores), _tenant(stores, "Other")
    first = ledger.request_access(tenant, "staff-1", "export", ["orders"], "ticket 1").aggregate.id
    second = ledger.request_access(tenant, "staff-2", "read", ["invoices"], "ticket 2").aggregate.id
    ledger.request_access(other, "staff-1", "read", ["orders"], "ticket 3")
    ledger.approve_access(first, "customer-1", duration_minutes=30)
    ledger.use_access(first, "staff-1", "orders", "export")
    ledger.deny_access(second, "customer-1", "not today")
    read_side.runner.catch_up()
    models = read_side.read_models

    listed = models.access_requests(tenant_id=tenant)["items"]
    assert [r["id"] for r in listed] == [str(second), str(first)], "newest first"
    assert [r["id"] for r in models.access_requests(tenant_id=tenant, status="used")["items"]] == [str(first)]
    assert [r["id"] for r in models.access_requests(requester="staff-2")["items"]] == [str(second)]

    used = models.access_request(first)
    assert (used["granted_scope"], used["approver"], used["reason"]) == ("export", "customer-1", "ticket 1")
    assert used["valid_until"] == clock.now() + timedelta(minutes=30)
    assert [h["event"] for h in used["history"]] == ["requested", "approved", "used"]
    denied = models.access_request(second)
    assert denied["status"] == "denied"
    assert denied["history"][-1] == {
        "at": clock.now(), "event": "denied", "actor": "customer-1", "detail": "not today"
    }


def test_the_access_log_shows_allowed_refused_and_disclosed_newest_first(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "ticket").aggregate.id
    ledger.approve_access(request, "customer-1")
    clock.move(minutes=1)
    ledger.use_access(request, "staff-1", "orders/7", "read")
    clock.move(minutes=1)
    with pytest.raises(AccessRefused):
        ledger.use_access(request, "staff-1", "invoices/1", "read")
    clock.move(minutes=1)
    ledger.record_disclosure(tenant, "Tax office", "legal_obligation", "case 9", "officer-1")
    read_side.runner.catch_up()

    log = read_side.read_models.access_log(tenant)["items"]
    assert [(e["outcome"], e["actor"], e["resource"]) for e in log] == [
        ("disclosed", "officer-1", "Tax office"),
        ("refused", "staff-1", "invoices/1"),
        ("allowed", "staff-1", "orders/7"),
    ]
    assert log[2]["request_id"] == str(request) and log[2]["action"] == "read"
    assert read_side.read_models.access_log(_tenant(stores, "Nobody"))["items"] == []


def test_paging_through_ten_thousand_access_log_entries_newest_first(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    request_id = ledger.request_access(
        tenant, "staff-1", "read", ["orders"], "bulk check", duration_minutes=480
    ).aggregate.id
    ledger.approve_access(request_id, "customer-1")
    request = ledger.access_request(request_id)
    tenant_now = ledger.tenant(tenant)
    start = clock.now()
    for n in range(10_000):
        if n % 3 == 0:
            clock.move(seconds=1)  # three entries share each second: ties broken by position
        # Every tenth look is by someone else, so refused (and logged) under the same grant.
        request.use("staff-2" if n % 10 == 0 else "staff-1", f"orders/{n}", "read", tenant_now,
                    clock.now())
    ledger.save(request)
    ledger.record_disclosure(tenant, "Court", "court_order", "case 1", "officer-1")
    read_side.runner.catch_up()
    models = read_side.read_models

    entries = _all_pages(lambda **page: models.access_log(tenant, **page), limit=500)
    keys = [(e["at"], e["position"]) for e in entries]
    assert len(entries) == 10_001
    assert len(set(e["position"] for e in entries)) == 10_001, "no duplicates"
    assert keys == sorted(keys, reverse=True), "newest first, no page out of order"
    assert entries[0]["outcome"] == "disclosed"
    assert {e["resource"] for e in entries if e["outcome"] != "disclosed"} == {
        f"orders/{n}" for n in range(10_000)
    }, "no gaps"

    refused = _all_pages(lambda **p: models.access_log(tenant, outcome="refused", **p), 300)
    assert len(refused) == 1000 and {e["actor"] for e in refused} == {"staff-2"}
    by_actor = _all_pages(lambda **p: models.access_log(tenant, actor="staff-1", **p), 1000)
    assert len(by_actor) == 9000 and {e["outcome"] for e in by_actor} == {"allowed"}
    since, until = start + timedelta(seconds=100), start + timedelta(seconds=199)
    window = _all_pages(lambda **p: models.access_log(tenant, since=since, until=until, **p), 64)
    assert window == [e for e in entries if since <= e["at"] <= until]
    assert len(window) == 300


def test_a_cursor_the_log_did_not_give_out_is_refused_naming_after(
    stores: Stores, read_side: Any
) -> None:
    tenant = _tenant(stores)
    for bad in ("not-a-cursor", "WzEsMiwzXQ", "eyJhIjoxfQ"):
        with pytest.raises(InvalidInput) as refused:
            read_side.read_models.access_log(tenant, after=bad)
        assert refused.value.field == "after"
    with pytest.raises(InvalidInput) as too_many:
        read_side.read_models.access_log(tenant, limit=100_000)
    assert too_many.value.field == "limit"
    with pytest.raises(InvalidInput) as unknown:
        read_side.read_models.access_log(tenant, outcome="peeked")
    assert unknown.value.field == "outcome"


# Subjects' requests
def test_subjects_requests_come_soonest_due_first_and_overdue_ones_are_found(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    first = ledger.receive_data_request(_subject(stores, tenant), "access", "email", "officer-1").aggregate.id
    clock.move(days=10)
    second = ledger.receive_data_request(_subject(stores, tenant), "portability", "web_form", "officer-1").aggregate.id
    third_subject = _subject(stores, None)
    third = ledger.receive_data_request(third_subject, "objection", "letter", "officer-1").aggregate.id
    ledger.extend_data_request(third, 2, "complex case about Zoë", "officer-1")
    ledger.verify_identity(second, "video call", "officer-1")
    ledger.quote_data_request(second, 2500, "eur", "officer-1")
    read_side.runner.catch_up()
    models = read_side.read_models

    assert [r["id"] for r in models.data_requests()["items"]] == [str(first), str(second), str(third)]
    quoted = models.data_request(second)
    assert (quoted["status"], quoted["quote"]) == ("quoted", {"amount_cents": 2500, "currency": "EUR"})
    assert models.data_request(third)["extension_reason"] == "complex case about Zoë"
    assert models.data_requests(tenant_id=tenant, status="received")["items"][0]["id"] == str(first)

    clock.move(days=25)  # the first is now past its month; the others are not
    assert [r["id"] for r in models.data_requests(overdue=True)["items"]] == [str(first)]
    assert [r["id"] for r in models.data_requests(overdue=False)["items"]] == [str(second), str(third)]
    assert models.due_for_sweep(clock.now())["overdue_requests"] == [first]
    ledger.mark_data_request_overdue(first)
    read_side.runner.catch_up()
    assert models.due_for_sweep(clock.now())["overdue_requests"] == []
    assert models.data_request(first)["overdue"] is True


# Incidents and disclosures
def test_incidents_carry_the_72_hour_clock_and_which_customer_was_told(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    acme, other = _tenant(stores), _tenant(stores, "Other")
    aware = clock.now() - timedelta(hours=10)
    incident = ledger.report_incident(
        "Laptop stolen", "an unencrypted laptop", "high", [acme, other], "officer-1", aware_at=aware
    ).aggregate.id
    told = clock.move(hours=1)
    ledger.notify_customer_of_incident(incident, acme, "officer-1")
    read_side.runner.catch_up()
    models = read_side.read_models

    seen = models.incident(incident)
    assert seen["authority_due_at"] == aware + timedelta(hours=72)
    assert seen["overdue"] is False and seen["authority_notified_at"] is None
    assert set(seen["tenant_ids"]) == {str(acme), str(other)}
    assert seen["customers_notified"] == {str(acme): told}

    as_customer = models.incident(incident, tenant_id=acme)
    assert as_customer["tenant_ids"] == [str(acme)], "a customer never learns of other tenants"
    assert models.incidents(tenant_id=other)["items"][0]["customers_notified"] == {}
    assert models.incident(incident, tenant_id=_tenant(stores, "Unaffected")) is None

    clock.move(hours=70)
    assert models.incident(incident)["overdue"] is True
    assert models.due_for_sweep(clock.now())["overdue_incidents"] == [incident]
    ledger.notify_authority_of_incident(incident, "AP-2026-1", "officer-1")
    read_side.runner.catch_up()
    late = models.incident(incident)
    assert (late["authority_reference"], late["overdue"]) == ("AP-2026-1", True), "late stays late"


def test_disclosures_are_listed_per_tenant_newest_first(stores: Stores, read_side: Any) -> None:
    ledger = stores.ledger
    tenant, other = _tenant(stores), _tenant(stores, "Other")
    subject = _subject(stores, tenant)
    ledger.record_disclosure(tenant, "Police", "court_order", "case 1", "officer-1", [subject])
    ledger.record_disclosure(tenant, "Auditor", "customer_request", "req 2", "officer-1")
    ledger.record_disclosure(other, "Tax", "legal_obligation", "case 3", "officer-1")
    read_side.runner.catch_up()

    listed = read_side.read_models.disclosures(tenant)["items"]
    assert [(d["recipient"], d["legal_basis"]) for d in listed] == [
        ("Auditor", "customer_request"), ("Police", "court_order")
    ]
    assert listed[1]["subject_ids"] == [str(subject)]


def test_the_sweep_learns_what_time_has_made_due(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant, leaving = _tenant(stores), _tenant(stores, "Leaving")
    pending = ledger.request_access(tenant, "staff-1", "read", ["orders"], "t").aggregate.id
    granted = ledger.request_access(tenant, "staff-2", "read", ["orders"], "t", duration_minutes=60).aggregate.id
    ledger.approve_access(granted, "customer-1")
    ledger.terminate_tenant(leaving, "officer-1")
    read_side.runner.catch_up()
    models = read_side.read_models

    assert models.due_for_sweep(clock.now()) == {
        "end_with_tenancy": [], "expire_requests": [], "end_grants": [], "purge_tenants": [],
        "overdue_requests": [], "overdue_incidents": [],
    }
    due = models.due_for_sweep(clock.now() + timedelta(days=61))
    assert due["expire_requests"] == [pending]
    assert due["end_grants"] == [granted]
    assert due["purge_tenants"] == [leaving]


# Read-your-writes
def test_a_reader_that_waits_for_a_writes_position_sees_the_write(
    stores: Stores, read_side: Any
) -> None:
    read_side.runner.start()
    subject = _subject(stores, None)
    written = stores.ledger.give_consent(subject, "product_mail", "web_form", "v3", "app")

    assert read_side.read_models.wait_for(written.position, timeout=10)
    assert read_side.read_models.position() >= written.position
    profile = read_side.read_models.subject_profile(subject)
    assert profile["consents"]["product_mail"]["status"] == "given"


def test_waiting_for_a_position_nobody_projects_gives_up_after_the_timeout(
    stores: Stores, read_side: Any
) -> None:
    written = stores.ledger.register_subject("Ann", "ann@example.org", "app")
    assert read_side.read_models.wait_for(written.position, timeout=0.2) is False
    assert read_side.read_models.subject_profile(written.aggregate.id) is None


# History as of a moment
def test_as_of_answers_before_and_after_a_consent_withdrawal(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    subject = _subject(stores, None)
    before_registration = clock.now() - timedelta(seconds=1)
    given_at = clock.move(hours=1)
    ledger.give_consent(subject, "info_mail", "double_opt_in", "v1", "app", channel="email")
    withdrawn_at = clock.move(days=3)
    ledger.withdraw_consent(subject, "info_mail", "unsubscribe_link", "app", channel="email")
    models = read_side.read_models

    while_given = models.subject_profile_as_of(subject, withdrawn_at - timedelta(seconds=1))
    given = {"status": "given", "channel": "email", "since": given_at, "notice_version": "v1",
             "method": "double_opt_in"}
    assert while_given["consents"]["info_mail"] == {**given, "channels": {"email": given}}
    assert while_given["name"] == NAME
    after = models.subject_profile_as_of(subject, withdrawn_at)
    assert after["consents"]["info_mail"]["status"] == "withdrawn"
    assert models.subject_profile_as_of(subject, given_at - timedelta(seconds=1))["consents"] == {}
    assert models.subject_profile_as_of(subject, before_registration) is None
    read_side.runner.catch_up()
    current = models.subject_profile(subject)
    assert {k: after[k] for k in current} == current, "as of now is the current profile"


def test_as_of_answers_after_an_erasure_show_erased_never_the_old_plaintext(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    subject = _subject(stores, None)
    ledger.give_consent(subject, "info_mail", "web_form", "v1", "app")
    before_erasure = clock.move(days=1)
    models = read_side.read_models
    assert models.subject_profile_as_of(subject, before_erasure)["email"] == EMAIL

    erased_at = clock.move(hours=1)
    ledger.erase_subject(subject, "officer-1")

    past = models.subject_profile_as_of(subject, before_erasure)
    assert (past["name"], past["email"], past["phone"]) == (ERASED, ERASED, ERASED)
    assert past["consents"]["info_mail"]["status"] == "given", "what happened stays on record"
    assert NAME not in repr(past) and EMAIL not in repr(past)
    assert models.subject_profile_as_of(subject, erased_at) == {
        "id": str(subject), "tenant_id": None, "erased": True
    }


def test_the_access_log_as_of_a_past_moment_leaves_out_what_came_later(
    stores: Stores, read_side: Any, clock: MovableClock
) -> None:
    ledger = stores.ledger
    tenant = _tenant(stores)
    request = ledger.request_access(tenant, "staff-1", "read", ["orders"], "t").aggregate.id
    ledger.approve_access(request, "customer-1")
    for n in range(5):
        clock.move(minutes=10)
        ledger.use_access(request, "staff-1", f"orders/{n}", "read")
    moment = clock.now() - timedelta(minutes=20)
    read_side.runner.catch_up()

    then = read_side.read_models.access_log(tenant, until=moment)["items"]
    assert [e["resource"] for e in then] == ["orders/2", "orders/1", "orders/0"]


def test_after_an_erasure_no_plaintext_of_the_person_is_left_in_the_read_models(
    durable_database_url: str, tmp_path: Any, clock: MovableClock
) -> None:
    from api.bootstrap import start_read_side
    from api.bootstrap import open_stores
    from tests.conftest import make_settings
    from tests.integration.test_erasure_leaves_no_plaintext import _raw_bytes

    settings = make_settings(durable_database_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    side = start_read_side(stores, settings, run_projections=False, clock=clock)
    try:
        subject = _subject(stores, _tenant(stores))
        request = stores.ledger.receive_data_request(
            subject, "access", "email", "officer-1", details=f"call {PHONE}"
        )
        side.runner.catch_up()
        assert side.read_models.data_request(request.aggregate.id)["details"] == f"call {PHONE}"

        stores.ledger.erase_subject(subject, "officer-1")
        side.runner.catch_up()
        stores.db.checkpoint()

        raw = _raw_bytes(settings)
        for plaintext in (NAME, EMAIL, EMAIL.lower(), PHONE, "Verhoeven"):
            assert plaintext.encode() not in raw
    finally:
        side.stop()
        stores.close()
