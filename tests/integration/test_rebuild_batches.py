"""A rebuild in large batches makes exactly the rows of the live runner's one-event batches.

The runner holds a batch's row changes and sends them per table in one statement, merging
changes of one row (the last consent per purpose, the last `updated_at` of a profile); this
checks that nothing about the result depends on where the batches begin and end, with every
kind of change interleaved: many consents per subject, rectifications and erasures in the
middle of a batch, access requests decided in the batch that asked them, tenants moving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.bootstrap import start_read_side
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from projections.read_models.rebuild import check, rebuild
from tests.conftest import make_settings

PURPOSES = ("info_mail", "product_mail", "profiling")


def _write_mixed_log(stores: Stores, clock: MovableClock) -> None:
    ledger = stores.ledger
    tenant = ledger.open_tenant("Acme", "officer-1").aggregate.id
    other = ledger.open_tenant("Other", "officer-1").aggregate.id
    subjects = [
        ledger.register_subject(f"P{n}", f"p{n}@example.org", "app", tenant).aggregate.id
        for n in range(12)
    ]
    erased = subjects[2]
    for round_ in range(20):
        for n, subject in enumerate(subjects):
            if round_ > 9 and subject == erased:
                continue  # nothing can be recorded about an erased subject
            clock.move(seconds=1)
            purpose = PURPOSES[(n + round_) % len(PURPOSES)]
            if (n + round_) % 4 == 3:
                ledger.withdraw_consent(subject, purpose, "unsubscribe_link", "app")
            else:
                ledger.give_consent(subject, purpose, "web_form", f"v{round_}", "app")
        _access_requests(ledger, tenant, round_)
        if round_ == 9:
            ledger.rectify_subject(subjects[1], "officer-1", email="p1.new@example.org")
            ledger.erase_subject(erased, "officer-1")
            ledger.move_tenant_location(tenant, "de", "closer to the customers", "officer-1")
    ledger.terminate_tenant(other, "officer-1")
    ledger.reactivate_tenant(other, "officer-1")
    incident = ledger.report_incident("Leak", "details", "low", [tenant, other], "officer-1")
    ledger.notify_customer_of_incident(incident.aggregate.id, tenant, "officer-1")
    ledger.record_disclosure(tenant, "Court", "court_order", "ref", "officer-1", [subjects[0]])
    request = ledger.receive_data_request(subjects[3], "access", "email", "officer-1", "all")
    ledger.verify_identity(request.aggregate.id, "passport", "officer-1")


def _access_requests(ledger: Any, tenant: Any, round_: int) -> None:
    """Asked and decided in one batch: the approval's history row needs the request's row."""
    for n in range(4):
        request = ledger.request_access(tenant, "staff-1", "modify", ["orders"], f"r{round_}.{n}")
        request_id = request.aggregate.id
        if n == 0:
            ledger.deny_access(request_id, "customer-1", "not now")
            continue
        ledger.approve_access(request_id, "customer-1")
        ledger.use_access(request_id, "staff-1", f"orders/{round_}", "read")
        if n == 1:
            ledger.use_access(request_id, "staff-1", f"orders/{round_}", "modify")
        elif n == 2:
            ledger.revoke_access(request_id, "customer-1", "done")


def test_a_rebuild_in_large_batches_makes_the_rows_of_one_event_batches(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    stores = open_stores(settings, clock=clock)
    side = start_read_side(stores, settings, clock=clock, run_projections=False)
    try:
        _write_mixed_log(stores, clock)
        side.runner.batch_size = 1  # as the live runner meets single writes
        side.runner.catch_up()
        assert stores.ledger.recorder.max_notification_id() > 500, "more than one large batch"

        # `check` replays into a scratch store in batches of 500 and compares every row.
        report = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert report.ok, [d.describe() for d in report.differences]
        assert report.rows_compared > 300

        side.runner.batch_size = 500
        rebuild(stores.ledger, stores.db, side.runner.projections)
        again = check(stores.ledger, stores.db, stores.keys, side.runner.projections)
        assert again.ok, [d.describe() for d in again.differences]
        assert again.rows_compared == report.rows_compared
    finally:
        side.stop()
        stores.close()
