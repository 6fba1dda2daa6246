"""What promises cost, each against its cheaper twin in the same run (issue 12):

- the consent check that never answers from a read model behind a withdrawal, against the same
  check answered from the read model alone (what it did before): rate and p99 of each;
- the xlsx export of a subject with a long history, against its JSON export (≤ 2×), and against
  the xlsx export of a history a fifth as long (linear: about 5×; it used to cost the square of
  the history, as openpyxl scanned every cell to find the last row);
- a decision on an access request that logged many refusals, against one on a fresh request
  (≤ 2×: access requests load from their last snapshot).

Each is timed through the same calls the API makes, in one process, one call at a time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from api.bootstrap import start_read_side
from api.services.dossier import build_dossier
from domain.errors import AccessRefused
from api.services.export_formats import render
from bench.generate import long_subject
from bench.results import Results, at_most
from bench.sizes import Sizes
from bench.stores import Scratch

CHECKS = {"quick": 200, "default": 3_000, "full": 5_000}
HISTORY = {"quick": 300, "default": 5_000, "full": 5_000}
REFUSALS = {"quick": 300, "default": 10_000, "full": 10_000}
DECISIONS = 30


def _timed(call: Callable[[], Any], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        began = time.perf_counter()
        call()
        spent.append(time.perf_counter() - began)
    return spent


def _p99(spent: list[float]) -> float:
    return sorted(spent)[max(0, int(len(spent) * 0.99) - 1)]


def measure(results: Results, scratch: Scratch, sizes: Sizes, log: Any) -> None:
    store = scratch.store
    with scratch.opened() as stores:
        ledger = stores.ledger
        tenant = ledger.open_tenant("Costs B.V.", "olga").aggregate.id
        read_side = start_read_side(stores, scratch.settings(), run_projections=False)
        read = read_side.read_models
        subject = ledger.register_subject("Zoë", "zoe@example.org", "crm").aggregate.id
        ledger.give_consent(subject, "info_mail", "web_form", "2026-01", "crm")
        read_side.runner.catch_up()  # in this thread: no background runner here
        long = (long_subject(ledger, HISTORY[sizes.name], tenant),
                long_subject(ledger, HISTORY[sizes.name] // 5, tenant))
        busy, fresh = _requests(ledger, tenant, REFUSALS[sizes.name])
        log(f"{store}: a request with {REFUSALS[sizes.name]:,} refusals made")
        for run in range(sizes.runs):
            _checks(results, store, read, subject, CHECKS[sizes.name])
            _exports(results, store, ledger, long, HISTORY[sizes.name])
            _decisions(results, store, ledger, busy, fresh, REFUSALS[sizes.name])
            log(f"{store} costs run {run + 1} done")


def _checks(results: Results, store: str, read: Any, subject: Any, count: int) -> None:
    fresh = _timed(lambda: read.consent_check(subject, "info_mail", "email"), count)
    projected = _timed(lambda: read.projected_consent(subject, "info_mail", "email"), count)
    for name, spent in (("fresh", fresh), ("read model only", projected)):
        results.add(f"consent check, {name}: checks/s (one caller)", store,
                    len(spent) / sum(spent), "/s")
        results.add(f"consent check, {name}: p99", store, _p99(spent) * 1000, "ms")
    results.add("consent check: fresh ÷ read model only (time per check)", store,
                statistics.median(fresh) / statistics.median(projected), "",
                note="the look at the subject's last event that makes an answer fresh")


def _exports(
    results: Results, store: str, ledger: Any, subjects: tuple[Any, Any], history: int
) -> None:
    """As `GET /v1/subjects/{id}/export` does it: the dossier from the events, then the file."""
    long, short = subjects

    def export(subject: Any, format: str) -> float:
        return min(_timed(lambda: render(build_dossier(ledger, subject), format), 3))

    json_time, xlsx_time = export(long, "json"), export(long, "xlsx")
    results.add(
        f"xlsx export ÷ JSON export, a subject of {history:,} events", store,
        xlsx_time / json_time, "", at_most(2),
        note=f"{xlsx_time * 1000:.0f} ms ÷ {json_time * 1000:.0f} ms (dossier and file, best of 3)",
    )
    shorter = export(short, "xlsx")
    results.add(
        f"xlsx export of {history:,} events ÷ of {history // 5:,} (linear: about 5)", store,
        xlsx_time / shorter, "", at_most(6),
        note=f"{xlsx_time * 1000:.0f} ms ÷ {shorter * 1000:.0f} ms",
    )


def _requests(ledger: Any, tenant: Any, refusals: int) -> tuple[Any, Any]:
    def granted() -> Any:
        request = ledger.request_access(tenant, "sam", "read", ["orders"], "ticket 1").aggregate.id
        ledger.approve_access(request, "carla")
        return request

    busy, fresh = granted(), granted()
    for number in range(refusals):  # each a real command, as staff would cause them
        try:
            ledger.use_access(busy, "mallory", f"orders/{number}", "read")
        except AccessRefused:  # refused, and logged: that is the point
            pass
    return busy, fresh


def _decisions(
    results: Results, store: str, ledger: Any, busy: Any, fresh: Any, refusals: int
) -> None:
    on_busy = statistics.median(_timed(lambda: ledger.access_request(busy), DECISIONS))
    on_fresh = statistics.median(_timed(lambda: ledger.access_request(fresh), DECISIONS))
    results.add(
        f"decide on a request with {refusals:,} logged refusals ÷ on a fresh one", store,
        on_busy / on_fresh, "", at_most(2),
        note=f"{on_busy * 1000:.2f} ms ÷ {on_fresh * 1000:.2f} ms (loading it to decide)",
    )
