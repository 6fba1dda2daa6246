"""Real events, made fast: aggregates decide as in production (the same rules, the same event
classes, the same crypto-shredding mapper), but their events are written with the recorder's
`insert_events` in batches of thousands instead of one transaction per command.

The mix: tenants; subjects, each registered then changing consents many times; staff access
requests, each asked, approved and then used (allowed and refused accesses, the access log).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from domain.access import AccessRequest
from domain.subject import Subject
from domain.tenant import Tenant
from domain.vocabulary import Purpose

BATCH = 5_000
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
PURPOSES = [purpose.value for purpose in Purpose]
CONSENTS_PER_SUBJECT = 90
USES_PER_REQUEST = 30


class Clock:
    """Event times a few seconds apart, so a million events span some months."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=7)) -> None:
        self.moment = start
        self.step = step

    def tick(self) -> datetime:
        self.moment += self.step
        return self.moment


class Writer:
    """Maps pending events with the ledger's own mapper and inserts them in big batches."""

    def __init__(self, ledger: Any, progress: Callable[[int], None] | None = None) -> None:
        self.ledger = ledger
        self.pending: list[Any] = []
        self.written = 0
        self.progress = progress

    def add(self, aggregate: Any) -> None:
        self.pending.extend(map(self.ledger.mapper.to_stored_event, aggregate.collect_events()))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.ledger.recorder.insert_events(self.pending)
            self.written += len(self.pending)
            self.pending = []
            if self.progress is not None:
                self.progress(self.written)


def _consents(subject: Subject, count: int, clock: Clock, rng: random.Random) -> None:
    for _ in range(count):
        purpose = rng.choice(PURPOSES)
        if rng.random() < 0.7:
            subject.give_consent(purpose, "web_form", "2026-01", "crm", clock.tick(), "email")
        else:
            subject.withdraw_consent(purpose, "unsubscribe_link", "crm", clock.tick(), "email")


def generate(
    ledger: Any, events: int, *, seed: int = 8, progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """About `events` events (a little more, never less). Returns what was made: tenant ids,
    subject ids, and how many events."""
    rng = random.Random(seed)
    clock = Clock()
    writer = Writer(ledger, progress)
    tenants: list[UUID] = []
    opened: dict[UUID, Tenant] = {}
    for number in range(max(2, events // 10_000)):
        tenant = Tenant.open(f"Tenant {number} B.V.", None, "olga", clock.tick())
        ledger.keys.create(tenant.id, tenant_id=tenant.id)
        tenants.append(tenant.id)
        opened[tenant.id] = tenant
        writer.add(tenant)
    subjects: list[UUID] = []
    unit = 0
    while writer.written + len(writer.pending) < events:
        tenant_id = tenants[unit % len(tenants)]
        subject = Subject.register(
            tenant_id, f"Person {unit}", f"person{unit}@example.org", "+31612345678", "crm",
            clock.tick(),
        )
        ledger.keys.create(subject.id, tenant_id=tenant_id)
        _consents(subject, CONSENTS_PER_SUBJECT, clock, rng)
        writer.add(subject)
        subjects.append(subject.id)
        if unit % 3 == 0:
            writer.add(_access_request(opened[tenant_id], clock, rng))
        unit += 1
    writer.flush()
    return {"tenants": tenants, "subjects": subjects, "events": writer.written}


def _access_request(tenant: Tenant, clock: Clock, rng: random.Random) -> AccessRequest:
    request = AccessRequest.ask(
        tenant, "sam", "read", ["orders"], "ticket 17", "T-17", 480, clock.tick(),
    )
    request.approve("carla", tenant, clock.tick())
    asked = clock.moment
    for number in range(USES_PER_REQUEST):
        resource = f"orders/{number}" if rng.random() < 0.9 else f"invoices/{number}"
        request.use("sam", resource, "read", tenant, asked + timedelta(seconds=number))
    return request


def long_subject(ledger: Any, events: int, tenant_id: UUID | None = None) -> UUID:
    """One subject with `events` events in all (registered, then consent changes)."""
    rng = random.Random(events)
    clock = Clock()
    writer = Writer(ledger)
    subject = Subject.register(tenant_id, "Lange Jan", "lang@example.org", None, "crm", clock.tick())
    ledger.keys.create(subject.id, tenant_id=tenant_id)
    remaining = events - 1
    while remaining > 0:
        step = min(BATCH, remaining)
        _consents(subject, step, clock, rng)
        writer.add(subject)
        remaining -= step
    writer.flush()
    return subject.id
