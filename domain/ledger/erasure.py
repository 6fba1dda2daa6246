"""What erasure needs to know about a subject, read without replaying its history.

Erasure must cost the same however long the history is (DESIGN.md §4), but loading the
aggregate replays every event: 100,000 consent changes took seconds. The fence event needs only
three facts: the id is a subject's (its first event), the next version (its last event), and
whether it was erased already (and, for the epoch close, whether that erasure is final yet). That last one is answered by the data key first: the key is
shredded before the fence is written and never re-created, so a subject whose key is there was
never erased. Only without a key (erased, its tenant purged, or a crash between the shredding
and the fence) is the end of the history read: after `Erased` the rules let nothing but
`RequestClosed` and `ErasureBecameFinal` follow (every other subject command refuses an erased subject), so the last
event that is not a `RequestClosed` tells.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.errors import NotFound
from domain.ledger.keys import KeyStore
from domain.subject import Subject

REGISTERED = get_topic(Subject.Registered)
# A subject's first event: a person registered, or a visitor's first banner choice.
SUBJECT_CREATED = frozenset({REGISTERED, get_topic(Subject.Arrived)})
ERASED = get_topic(Subject.Erased)
FINAL = get_topic(Subject.ErasureBecameFinal)
MAY_FOLLOW_ERASURE = frozenset({get_topic(Subject.RequestClosed), FINAL})
TAIL = 16  # events read per step from the end; an erased subject has at most a few after it


def subject_for_erasure(recorder: Any, mapper: Any, keys: KeyStore, subject_id: UUID) -> Subject:
    """The subject as erasure sees it: built from its first event, at its latest version,
    erased or not. Its consents and open requests are NOT filled in: use it only to erase."""
    first = recorder.select_events(subject_id, limit=1)
    if not first or first[0].topic not in SUBJECT_CREATED:
        raise NotFound(f"no subject with id {subject_id}")
    subject: Subject = mapper.to_domain_event(first[0]).mutate(None)
    last = recorder.select_events(subject_id, desc=True, limit=1)
    subject.version = last[0].originator_version if last else 1
    if keys.get(subject_id) is None:
        subject.erased, final = _erased(recorder, subject_id)
        if final is not None:
            subject.erasure_final_at = mapper.to_domain_event(final).timestamp
    return subject


def _erased(recorder: Any, subject_id: UUID) -> tuple[bool, Any]:
    """Whether the subject was erased, and the stored `ErasureBecameFinal` if there is one."""
    below: int | None = None
    final = None
    while True:
        tail = recorder.select_events(subject_id, desc=True, limit=TAIL, lte=below)
        for stored in tail:
            if stored.topic == FINAL:
                final = stored
            elif stored.topic not in MAY_FOLLOW_ERASURE:
                return stored.topic == ERASED, final
        if len(tail) < TAIL:
            return False, final
        below = tail[-1].originator_version - 1
