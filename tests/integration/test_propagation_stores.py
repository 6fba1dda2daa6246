"""Propagation on the durable stores (a SQLite file, the real PostgreSQL server): the registered
systems kept beside the ledger, and a request's propagation as the read side shows it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from api.bootstrap import Stores
from domain.clock import MovableClock
from domain.errors import InvalidInput
from domain.personal import ERASED
from projections.outbox.systems import ActorTaken, SystemStore


def _register(
    systems: SystemStore, name: str, actor: str, clock: MovableClock, *, moving: bool = True,
    **kw: Any,
) -> Any:
    """Registered, then the clock moves a second (`moving`): systems are kept in the order
    registered."""
    made = systems.register(
        name=name, url=f"https://{actor}.example.org/hook", actor=actor,
        purposes=kw.get("purposes", ["info_mail"]), kinds=kw.get("kinds", ["erasure"]),
        subscription_id=None, created_by="olga", now=clock.now(),
    )
    if moving:
        clock.move(seconds=1)
    return made


def test_registered_systems_are_kept_listed_in_order_and_retired_not_deleted(
    durable_stores: Stores, clock: MovableClock
) -> None:
    systems = SystemStore(durable_stores.db)
    crm = _register(systems, "CRM", "crm", clock, kinds=["erasure", "rectification"])
    mail = _register(systems, "Mail", "mail", clock, purposes=[])

    assert systems.get(crm.id) == crm
    assert crm.system.kinds == frozenset({"erasure", "rectification"})
    assert crm.system.concerns_consent("info_mail") and not mail.system.concerns_consent("info_mail")
    assert systems.by_actor("crm") == crm and systems.by_actor("nobody") is None
    assert [s.id for s in systems.all()] == [crm.id, mail.id]

    retired = systems.retire(crm.id, clock.now())
    assert retired is not None and retired.status == "retired" and retired.retired_at == clock.now()
    assert retired.created_at < clock.now()
    assert [s.id for s in systems.all()] == [mail.id]
    assert [s.id for s in systems.all(include_retired=True)] == [crm.id, mail.id]
    assert systems.by_actor("crm") is None
    assert systems.retire(UUID(int=1)) is None


def test_one_active_system_per_actor(durable_stores: Stores, clock: MovableClock) -> None:
    systems = SystemStore(durable_stores.db)
    crm = _register(systems, "CRM", "crm", clock)
    with pytest.raises(ActorTaken, match="crm already confirms for the system CRM"):
        _register(systems, "CRM 2", "crm", clock)

    systems.retire(crm.id, clock.now())
    again = _register(systems, "CRM 2", "crm", clock)
    assert systems.by_actor("crm") == again


def test_a_system_described_wrongly_is_refused_naming_the_field(
    durable_stores: Stores, clock: MovableClock
) -> None:
    systems = SystemStore(durable_stores.db)
    with pytest.raises(InvalidInput) as refused:
        _register(systems, "Shop", "shop", clock, kinds=["portability"])
    assert refused.value.field == "kinds"
    assert systems.all() == []


def test_the_systems_page_in_the_order_registered(durable_stores: Stores, clock: MovableClock) -> None:
    systems = SystemStore(durable_stores.db)
    made = [_register(systems, f"S{i}", f"s{i}", clock, moving=False).id for i in range(5)]
    seen: list[UUID] = []
    after = None
    while True:
        page, after = systems.page(after, 2)
        seen += [s.id for s in page]
        if after is None:
            break
    assert seen == sorted(made, key=str)


def test_the_read_side_shows_a_requests_propagation_and_what_it_waits_for(
    durable_stores: Stores, durable_read_side: Any, clock: MovableClock
) -> None:
    ledger, systems = durable_stores.ledger, SystemStore(durable_stores.db)
    crm = _register(systems, "CRM", "crm", clock)
    mail = _register(systems, "Mail", "mail", clock)
    subject = ledger.register_subject("Zoë", "zoe@example.org", "app").aggregate.id
    request = ledger.receive_data_request(subject, "erasure", "email", "olga").aggregate.id
    ledger.verify_identity(request, "passport", "olga", [s.system for s in systems.all()])
    ledger.confirm_request_propagation(request, crm.id, "crm")
    ledger.report_propagation_failure(request, mail.id, "mailbox on legal hold", "mail")
    clock.move(days=40)
    durable_read_side.runner.catch_up()
    read = durable_read_side.read_models

    found = read.data_request(request)
    assert [(p["name"], p["status"], p["reason"]) for p in found["propagation"]] == [
        ("CRM", "confirmed", None), ("Mail", "failed", "mailbox on legal hold")]
    assert found["waiting_for"] == [{"system_id": str(mail.id), "name": "Mail", "status": "failed"}]
    overdue = read.data_requests(overdue=True)["items"]
    assert [(i["id"], i["waiting_for"]) for i in overdue] == [(str(request), found["waiting_for"])]

    ledger.waive_propagation(request, "legal hold; the officer decided", "olga")
    ledger.fulfil_data_request(request, "olga")
    durable_read_side.runner.catch_up()

    found = read.data_request(request)
    assert [(p["status"], p["reason"]) for p in found["propagation"]] == [
        ("confirmed", None), ("waived", ERASED)], "the reasons went with the subject's key"
    assert found["waiting_for"] == [] and read.data_requests(overdue=True)["items"] == []
