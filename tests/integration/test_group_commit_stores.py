"""Group commit on the real stores: many threads changing the same and different subjects at
once lose nothing, each gets its own position, and the versions stay contiguous."""

from __future__ import annotations

import threading
from collections import Counter

from api.bootstrap import Stores
from domain.ledger.group_commit import GroupCommitter


def test_many_threads_on_shared_subjects_lose_no_change(stores: Stores) -> None:
    ledger = stores.ledger
    ledger.group_commit = GroupCommitter(ledger._put)  # on every store, not just PostgreSQL
    subjects = [
        ledger.register_subject("Jan", f"jan{n}@example.org", "crm").aggregate.id
        for n in range(4)
    ]
    positions: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def caller(number: int) -> None:
        try:
            for i in range(6):
                # Two threads per subject: they collide, and retry through get → command → save.
                outcome = ledger.give_consent(
                    subjects[(number + i) % 4], "info_mail", "web_form", f"v{number}.{i}", "crm"
                )
                with lock:
                    positions.append(outcome.position)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(positions) == len(set(positions)) == 48
    notices = Counter()
    for subject in subjects:
        versions = [event.originator_version for event in ledger.events.get(subject)]
        assert versions == list(range(1, len(versions) + 1))
        notices.update(e.notice_version for e in ledger.events.get(subject) if hasattr(e, "notice_version"))
    assert sum(notices.values()) == 48 and all(count == 1 for count in notices.values())


def test_group_commit_is_on_by_default_for_the_durable_stores(stores: Stores, database_url: str) -> None:
    assert (stores.ledger.group_commit is not None) == (not database_url.startswith("memory"))
