"""Many writers on one subject at once: every change is kept, none is lost or doubled.

The ledger reads, decides and saves; a save that lost the race is retried from a fresh read
(Ledger._change), so concurrent callers each get their own answer.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from api.bootstrap import open_stores
from domain.clock import MovableClock
from tests.conftest import make_settings

CHANGES, THREADS = 50, 8


def test_fifty_concurrent_consent_changes_for_one_subject_are_all_recorded_in_contiguous_versions(
    durable_database_url: str, tmp_path: Path, clock: MovableClock
) -> None:
    settings = make_settings(durable_database_url, tmp_path / "var")
    # Two ledgers on one store, as two API processes would be.
    ledgers = [open_stores(settings, clock=clock), open_stores(settings, clock=clock)]
    try:
        subject_id = ledgers[0].ledger.register_subject(
            "Jet", "jet@example.org", "app"
        ).aggregate.id
        start = threading.Barrier(THREADS)

        def change(number: int) -> int:
            if number < THREADS:
                start.wait()  # the first wave leaves together
            ledger = ledgers[number % 2].ledger
            purpose = ("info_mail", "product_mail", "blog_mail", "profiling")[number % 4]
            if number % 3 == 0:
                outcome = ledger.withdraw_consent(subject_id, purpose, "unsubscribe_link", "app",
                                                  notice_version=f"n{number}")
            else:
                outcome = ledger.give_consent(subject_id, purpose, "web_form", f"n{number}", "app")
            return outcome.position

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            positions = list(pool.map(change, range(CHANGES)))

        events = list(ledgers[1].ledger.events.get(subject_id))
        assert [e.originator_version for e in events] == list(range(1, CHANGES + 2))
        recorded = sorted(int(e.notice_version[1:]) for e in events[1:])
        assert recorded == list(range(CHANGES)), "each change exactly once"
        assert len(set(positions)) == CHANGES, "each caller got its own position"
        notifications = ledgers[0].ledger.recorder.select_notifications(1, 1000)
        assert len(notifications) == CHANGES + 1
        assert sorted(positions) == [n.id for n in notifications[1:]], "positions are real"
    finally:
        for stores in ledgers:
            stores.close()
