"""Subjects this process saved a moment ago, so that the next consent decision on one of them
need not read and decrypt its whole history again.

Why: a consent decision is the ledger's most frequent write (every visitor's banner, every
unsubscribe), and reading the subject's events back was most of its cost (docs/benchmarks.md).

Why it stays correct:
  * a subject is *taken out* while a command runs on it and a copy is put back only after its
    save succeeded, so a command that fails (a rule, a lost race) never leaves a half-changed
    copy, and two callers never share one: the second reads the subject from the store; the
    caller keeps the object it changed (its answer), the cache keeps a detached twin;
  * a copy that is stale (another process wrote to the subject since) still carries the version
    it was read at, so its save meets the store's optimistic-concurrency check, loses, and the
    command is decided again on a fresh read: a stale copy costs a retry, never a wrong event
    (and with group commit, not the other callers' batch: domain/ledger/group_commit.py finds the
    loser). Reading the newer events before each command instead cost 40 % of the write rate;
  * a copy lives at most `ttl` seconds, the same bound as the unwrapped-key cache: an erasure
    in another process is seen here no later than its shredded key is;
  * every other change to the subject in this process (rectification, erasure, a tenant's
    purge) forgets the copy first.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from uuid import UUID

DEFAULT_SIZE = 10_000
DEFAULT_TTL_SECONDS = 5.0


class RecentSubjects:
    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        ttl: float = DEFAULT_TTL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._copies: OrderedDict[UUID, tuple[float, Any]] = OrderedDict()

    def take(self, subject_id: UUID) -> Any | None:
        """The copy saved last, now owned by the caller alone; None when there is none (or it
        is too old to trust)."""
        with self._lock:
            entry = self._copies.pop(subject_id, None)
        if entry is None:
            return None
        saved_at, subject = entry
        return subject if self._monotonic() - saved_at < self.ttl else None

    def put(self, subject: Any) -> None:
        """Keeps a twin of a subject whose events have all been saved."""
        twin = _detached(subject)
        with self._lock:
            self._copies[subject.id] = (self._monotonic(), twin)
            self._copies.move_to_end(subject.id)
            while len(self._copies) > self.size:
                self._copies.popitem(last=False)

    def forget(self, subject_id: UUID) -> None:
        with self._lock:
            self._copies.pop(subject_id, None)

    def forget_where(self, matches: Callable[[Any], bool]) -> None:
        with self._lock:
            for subject_id in [i for i, (_, s) in self._copies.items() if matches(s)]:
                del self._copies[subject_id]

    def __len__(self) -> int:
        return len(self._copies)


def _detached(aggregate: Any) -> Any:
    """A twin that shares no container with the original, so changing one leaves the other as
    it was. One level is enough: events replace the values in an aggregate's dicts (a consent's
    state), they do not change them in place."""
    twin = copy.copy(aggregate)
    for name, value in vars(aggregate).items():
        if isinstance(value, (dict, list, set)):
            vars(twin)[name] = value.copy()
    return twin
