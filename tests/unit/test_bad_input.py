"""Every command checks its input and names the field at fault; a refused command stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from domain.ledger import Ledger
from domain.clock import MovableClock
from domain.errors import (
    DomainError,
    InvalidInput,
    LocationOutsideEU,
    StateConflict,
    UnknownPurpose,
)

OFFICER, APP, STAFF, CUSTOMER = "officer-1", "app", "staff-1", "customer-1"
LONG = "x" * 20_001


@dataclass
class World:
    ledger: Ledger
    tenant: UUID
    subject: UUID
    pending: UUID       # an access request waiting for a decision
    grant: UUID         # an approved read grant
    request: UUID       # a subject's access request
    portability: UUID   # a subject's portability request
    incident: UUID


@pytest.fixture
def world(clock: MovableClock) -> World:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)
    tenant = ledger.open_tenant("Acme", OFFICER).aggregate.id
    subject = ledger.register_subject("Ann", "ann@example.org", APP, tenant).aggregate.id
    pending = ledger.request_access(tenant, STAFF, "modify", ["orders"], "ticket").aggregate.id
    grant = ledger.request_access(tenant, STAFF, "read", ["orders"], "ticket").aggregate.id
    ledger.approve_access(grant, CUSTOMER)
    request = ledger.receive_data_request(subject, "access", "email", OFFICER).aggregate.id
    portability = ledger.receive_data_request(subject, "portability", "email", OFFICER).aggregate.id
    incident = ledger.report_incident("Leak", "details", "low", [tenant], OFFICER).aggregate.id
    return World(ledger, tenant, subject, pending, grant, request, portability, incident)


Command = Callable[[World], Any]
CASES: list[tuple[str, Command, type[DomainError], str | None]] = [
    # Tenants
    ("tenant without a name", lambda w: w.ledger.open_tenant("", OFFICER), InvalidInput, "name"),
    ("tenant name too long", lambda w: w.ledger.open_tenant("n" * 201, OFFICER), InvalidInput, "name"),
    ("tenant name not text", lambda w: w.ledger.open_tenant(42, OFFICER), InvalidInput, "name"),  # type: ignore[arg-type]
    ("tenant outside the EU", lambda w: w.ledger.open_tenant("A", OFFICER, "US"), LocationOutsideEU, "location"),
    ("location not text", lambda w: w.ledger.open_tenant("A", OFFICER, 31), LocationOutsideEU, "location"),  # type: ignore[arg-type]
    ("move to an empty location", lambda w: w.ledger.move_tenant_location(w.tenant, "", None, OFFICER), LocationOutsideEU, "location"),
    ("move reason too long", lambda w: w.ledger.move_tenant_location(w.tenant, "DE", LONG, OFFICER), InvalidInput, "reason"),
    # Subjects
    ("email without an at sign", lambda w: w.ledger.register_subject("A", "ann.example.org", APP), InvalidInput, "email"),
    ("email without a domain", lambda w: w.ledger.register_subject("A", "ann@", APP), InvalidInput, "email"),
    ("email with a space", lambda w: w.ledger.register_subject("A", "ann @example.org", APP), InvalidInput, "email"),
    ("email far too long", lambda w: w.ledger.register_subject("A", "a" * 250 + "@example.org", APP), InvalidInput, "email"),
    ("email not text", lambda w: w.ledger.register_subject("A", 5, APP), InvalidInput, "email"),  # type: ignore[arg-type]
    ("subject without a name", lambda w: w.ledger.register_subject(" ", "a@example.org", APP), InvalidInput, "name"),
    ("phone without digits", lambda w: w.ledger.register_subject("A", "a@example.org", APP, phone="call me"), InvalidInput, "phone"),
    ("rectify to a bad email", lambda w: w.ledger.rectify_subject(w.subject, OFFICER, email="nope"), InvalidInput, "email"),
    ("rectify nothing", lambda w: w.ledger.rectify_subject(w.subject, OFFICER), InvalidInput, "name"),
    # Consent
    ("unknown purpose", lambda w: w.ledger.give_consent(w.subject, "spam", "web_form", "v1", APP), UnknownPurpose, "purpose"),
    ("purpose not text", lambda w: w.ledger.give_consent(w.subject, ["info_mail"], "web_form", "v1", APP), UnknownPurpose, "purpose"),  # type: ignore[arg-type]
    ("withdraw an unknown purpose", lambda w: w.ledger.withdraw_consent(w.subject, "spam", "web_form", APP), UnknownPurpose, "purpose"),
    ("unknown consent method", lambda w: w.ledger.give_consent(w.subject, "info_mail", "telepathy", "v1", APP), InvalidInput, "method"),
    ("unknown channel", lambda w: w.ledger.give_consent(w.subject, "info_mail", "web_form", "v1", APP, channel="pigeon"), InvalidInput, "channel"),
    ("notice version too long", lambda w: w.ledger.give_consent(w.subject, "info_mail", "web_form", "v" * 101, APP), InvalidInput, "notice_version"),
    ("ip address too long", lambda w: w.ledger.give_consent(w.subject, "info_mail", "web_form", "v1", APP, ip_address="1" * 65), InvalidInput, "ip_address"),
    # Access requests
    ("unknown scope", lambda w: w.ledger.request_access(w.tenant, STAFF, "admin", ["orders"], "r"), InvalidInput, "scope"),
    ("no resources", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", [], "r"), InvalidInput, "resources"),
    ("resources not a list", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", "orders", "r"), InvalidInput, "resources"),  # type: ignore[arg-type]
    ("blank resource", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", [" "], "r"), InvalidInput, "resources"),
    ("too many resources", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", [f"r{i}" for i in range(101)], "r"), InvalidInput, "resources"),
    ("resource name too long", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["r" * 513], "r"), InvalidInput, "resources"),
    ("no reason for access", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], ""), InvalidInput, "reason"),
    ("access reason too long", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], LONG), InvalidInput, "reason"),
    ("ticket too long", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], "r", ticket="t" * 201), InvalidInput, "ticket"),
    ("zero minutes", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], "r", duration_minutes=0), InvalidInput, "duration_minutes"),
    ("minutes as text", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], "r", duration_minutes="60"), InvalidInput, "duration_minutes"),  # type: ignore[arg-type]
    ("minutes as a fraction", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], "r", duration_minutes=1.5), InvalidInput, "duration_minutes"),  # type: ignore[arg-type]
    ("minutes as a boolean", lambda w: w.ledger.request_access(w.tenant, STAFF, "read", ["orders"], "r", duration_minutes=True), InvalidInput, "duration_minutes"),
    ("approve with text minutes", lambda w: w.ledger.approve_access(w.pending, CUSTOMER, duration_minutes="5"), InvalidInput, "duration_minutes"),  # type: ignore[arg-type]
    ("approve with no minutes", lambda w: w.ledger.approve_access(w.pending, CUSTOMER, duration_minutes=0), InvalidInput, "duration_minutes"),
    ("approve an unknown scope", lambda w: w.ledger.approve_access(w.pending, CUSTOMER, scope="all"), InvalidInput, "scope"),
    ("approve no resources", lambda w: w.ledger.approve_access(w.pending, CUSTOMER, resources=[]), InvalidInput, "resources"),
    ("deny without a reason", lambda w: w.ledger.deny_access(w.pending, CUSTOMER, ""), InvalidInput, "reason"),
    ("revoke without a reason", lambda w: w.ledger.revoke_access(w.grant, CUSTOMER, " "), InvalidInput, "reason"),
    ("use an unknown action", lambda w: w.ledger.use_access(w.grant, STAFF, "orders", "delete"), InvalidInput, "action"),
    ("use no resource", lambda w: w.ledger.use_access(w.grant, STAFF, "", "read"), InvalidInput, "resource"),
    # Subjects' requests
    ("unknown request kind", lambda w: w.ledger.receive_data_request(w.subject, "deletion", "email", OFFICER), InvalidInput, "kind"),
    ("unknown request channel", lambda w: w.ledger.receive_data_request(w.subject, "objection", "fax", OFFICER), InvalidInput, "channel"),
    ("request details too long", lambda w: w.ledger.receive_data_request(w.subject, "objection", "email", OFFICER, LONG), InvalidInput, "details"),
    ("extend by zero months", lambda w: w.ledger.extend_data_request(w.request, 0, "r", OFFICER), InvalidInput, "months"),
    ("extend by text", lambda w: w.ledger.extend_data_request(w.request, "1", "r", OFFICER), InvalidInput, "months"),  # type: ignore[arg-type]
    ("verify without a method", lambda w: w.ledger.verify_identity(w.request, "", OFFICER), InvalidInput, "method"),
    ("quote nothing", lambda w: w.ledger.quote_data_request(w.portability, 0, "EUR", OFFICER), InvalidInput, "amount_cents"),
    ("quote a fraction", lambda w: w.ledger.quote_data_request(w.portability, 9.99, "EUR", OFFICER), InvalidInput, "amount_cents"),  # type: ignore[arg-type]
    ("quote in no currency", lambda w: w.ledger.quote_data_request(w.portability, 100, "euro", OFFICER), InvalidInput, "currency"),
    ("reject without a reason", lambda w: w.ledger.reject_data_request(w.request, "", OFFICER), InvalidInput, "reason"),
    # Incidents and disclosures
    ("incident without a title", lambda w: w.ledger.report_incident("", "d", "low", [w.tenant], OFFICER), InvalidInput, "title"),
    ("incident description too long", lambda w: w.ledger.report_incident("t", "d" * 10_001, "low", [w.tenant], OFFICER), InvalidInput, "description"),
    ("unknown severity", lambda w: w.ledger.report_incident("t", "d", "apocalyptic", [w.tenant], OFFICER), InvalidInput, "severity"),
    ("tenant ids not ids", lambda w: w.ledger.report_incident("t", "d", "low", ["acme"], OFFICER), InvalidInput, "tenant_ids"),  # type: ignore[list-item]
    ("awareness as text", lambda w: w.ledger.report_incident("t", "d", "low", [w.tenant], OFFICER, aware_at="yesterday"), InvalidInput, "aware_at"),  # type: ignore[arg-type]
    ("awareness without a time zone", lambda w: w.ledger.report_incident("t", "d", "low", [w.tenant], OFFICER, aware_at=datetime(2026, 1, 1)), InvalidInput, "aware_at"),
    ("notify without a reference", lambda w: w.ledger.notify_authority_of_incident(w.incident, "", OFFICER), InvalidInput, "reference"),
    ("disclose on no basis", lambda w: w.ledger.record_disclosure(w.tenant, "Police", "asked nicely", "r", OFFICER), InvalidInput, "legal_basis"),
    ("disclose to nobody", lambda w: w.ledger.record_disclosure(w.tenant, "", "court_order", "r", OFFICER), InvalidInput, "recipient"),
    # State transitions
    ("approve twice", lambda w: w.ledger.approve_access(w.grant, CUSTOMER), StateConflict, None),
    ("reactivate an active tenant", lambda w: w.ledger.reactivate_tenant(w.tenant, OFFICER), StateConflict, None),
    ("purge an active tenant", lambda w: w.ledger.purge_tenant(w.tenant, OFFICER), StateConflict, None),
    ("accept a quote never made", lambda w: w.ledger.accept_quote(w.portability, "subject"), StateConflict, None),
    ("decline a quote never made", lambda w: w.ledger.decline_quote(w.portability, "subject"), StateConflict, None),
    ("fulfil unverified", lambda w: w.ledger.fulfil_data_request(w.request, OFFICER), StateConflict, None),
]


@pytest.mark.parametrize("case,command,error,field", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name_and_stores_nothing(
    world: World, case: str, command: Command, error: type[DomainError], field: str | None
) -> None:
    before = world.ledger.recorder.max_notification_id()
    with pytest.raises(error) as refused:
        command(world)
    if field is not None:
        assert isinstance(refused.value, InvalidInput)
        assert refused.value.field == field
        assert refused.value.detail, "the error explains itself"
    assert world.ledger.recorder.max_notification_id() == before, "nothing half-written"


def test_free_text_is_kept_exactly_as_given(world: World) -> None:
    reason = "line one\nline two\t<b>not html</b> ☃"
    request = world.ledger.request_access(world.tenant, STAFF, "read", ["orders"], reason)
    asked = next(iter(world.ledger.events.get(request.aggregate.id)))
    assert asked.reason == reason


def test_an_email_is_kept_without_surrounding_spaces(world: World) -> None:
    subject = world.ledger.register_subject("Bo", "  bo@example.org ", APP).aggregate
    assert world.ledger.subject(subject.id).email == "bo@example.org"
