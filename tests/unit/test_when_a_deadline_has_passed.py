"""Every "due", "overdue" and "expired" is one predicate (domain/deadlines.py and the aggregates):
its edge, and the cut-off that lets SQL ask the same question (`column < cut-off`)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from domain.clock import MovableClock
from domain.deadlines import has_lapsed, is_past, lapsed_before, overdue_before
from domain.ledger import Ledger
from domain.personal import every_personal_field

AT = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)
TICK = timedelta(microseconds=1)
OFFICER = "officer-olga"


def test_a_deadline_is_met_at_its_moment_and_missed_a_microsecond_later() -> None:
    assert not is_past(AT, AT - TICK)
    assert not is_past(AT, AT)
    assert is_past(AT, AT + TICK)


def test_a_time_limit_runs_out_at_its_very_moment() -> None:
    assert not has_lapsed(AT, AT - TICK)
    assert has_lapsed(AT, AT)
    assert has_lapsed(AT, AT + TICK)


def test_the_cut_offs_ask_the_same_question_as_a_strict_before() -> None:
    for now in (AT - TICK, AT, AT + TICK):
        assert is_past(AT, now) == (AT < overdue_before(now))
        assert has_lapsed(AT, now) == (AT < lapsed_before(now))
    micros = int(AT.timestamp() * 1_000_000)  # as the read side keeps moments
    assert micros < int(lapsed_before(AT).timestamp() * 1_000_000)
    assert not micros < int(overdue_before(AT).timestamp() * 1_000_000)


def test_a_subjects_request_is_overdue_while_open_and_past_due_marked_or_not(
    ledger: Ledger, clock: MovableClock
) -> None:
    subject = ledger.register_subject("Ann", "ann@example.org", OFFICER).aggregate.id
    request_id = ledger.receive_data_request(subject, "access", "email", OFFICER).aggregate.id
    request = ledger.data_request(request_id)
    assert not request.is_overdue(request.due_at), "due that day is not late yet"
    later = request.due_at + TICK
    assert request.is_overdue(later) and request.should_be_marked_overdue(later)
    clock.set(later)
    marked = ledger.mark_data_request_overdue(request_id)
    assert marked is not None and marked.aggregate.is_overdue(later)
    assert not marked.aggregate.should_be_marked_overdue(later), "marked once"
    ledger.verify_identity(request_id, "passport", OFFICER)
    closed = ledger.fulfil_data_request(request_id, OFFICER).aggregate
    assert not closed.is_overdue(later), "a closed request is no longer overdue"


def test_an_incident_notified_late_stays_overdue_but_is_never_marked(
    ledger: Ledger, clock: MovableClock
) -> None:
    tenant = ledger.open_tenant("Acme B.V.", OFFICER).aggregate.id
    on_time = ledger.report_incident("Leak", "what", "high", [tenant], OFFICER).aggregate.id
    late = ledger.report_incident("Leak", "what", "high", [tenant], OFFICER).aggregate.id
    clock.move(hours=72)
    ledger.notify_authority_of_incident(on_time, "AP-1", OFFICER)
    clock.move(microseconds=1)
    assert ledger.incident(late).is_overdue(clock.now()), "past the 72 hours, nobody told"
    ledger.notify_authority_of_incident(late, "AP-2", OFFICER)
    clock.move(days=30)
    told_late, told_on_time = ledger.incident(late), ledger.incident(on_time)
    assert told_late.is_overdue(clock.now()), "late is late"
    assert not told_late.should_be_marked_overdue(clock.now()), "the notice came: no mark now"
    assert not told_on_time.is_overdue(clock.now())
    assert ledger.mark_incident_overdue(late) is None


def test_a_grant_ends_at_its_last_moment_and_a_pending_request_expires_at_its_own(
    ledger: Ledger, clock: MovableClock
) -> None:
    tenant = ledger.open_tenant("Acme B.V.", OFFICER).aggregate.id
    asked = ledger.request_access(tenant, "sam", "read", ["orders"], "ticket 7").aggregate
    assert not asked.is_expired_pending(asked.expires_at - TICK)
    assert asked.is_expired_pending(asked.expires_at)
    granted = ledger.approve_access(asked.id, "cora", duration_minutes=30).aggregate
    assert granted.valid_until is not None
    assert not granted.grant_has_ended(granted.valid_until - TICK)
    assert granted.grant_has_ended(granted.valid_until)
    tenant_now = ledger.tenant(tenant)
    assert not granted.outlived_its_tenancy(tenant_now)
    ledger.terminate_tenant(tenant, OFFICER)
    assert ledger.access_request(asked.id).outlived_its_tenancy(ledger.tenant(tenant))
    ended = ledger.end_access_with_tenancy(asked.id, OFFICER)
    assert ended is not None and ended.aggregate.status == "ended"


def test_a_tenant_may_come_back_on_the_last_moment_of_its_grace_period(
    ledger: Ledger, clock: MovableClock
) -> None:
    tenant_id = ledger.open_tenant("Acme B.V.", OFFICER).aggregate.id
    tenant = ledger.terminate_tenant(tenant_id, OFFICER).aggregate
    assert tenant.purge_after is not None
    assert not tenant.is_due_for_purge(tenant.purge_after)
    assert tenant.is_due_for_purge(tenant.purge_after + TICK)


def test_the_personal_fields_are_those_the_event_classes_declare() -> None:
    assert every_personal_field() == {"name", "email", "phone", "ip_address", "reason", "details"}
