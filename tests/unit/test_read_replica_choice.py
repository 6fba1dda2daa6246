"""Which store a read is answered from (projections/read_models/read_sources.py) and when a
replica may be read (projections/storage/read_replicas.py): the rules, without servers; the
real replica is tests/reliability/test_read_replicas.py's."""

from __future__ import annotations

from typing import Any

from projections.read_models.read_sources import ReadSource, ReadSources
from projections.storage.read_replicas import judged


class Standby:
    """A replica whose state the test sets."""

    def __init__(self, readable: bool) -> None:
        self.now = readable

    def readable(self) -> bool:
        return self.now


def source(name: str, replica: Any = None) -> ReadSource:
    return ReadSource(name, read=None, db=None, replica=replica)  # type: ignore[arg-type]


def test_a_standby_streaming_and_caught_up_is_read() -> None:
    assert judged((True, True, 0.0), max_lag=10).readable


def test_a_standby_further_behind_than_allowed_is_not_read() -> None:
    state = judged((True, True, 12.5), max_lag=10)
    assert not state.readable and "12.5 s behind" in state.why


def test_a_standby_cut_off_from_its_primary_is_not_read_however_fresh_it_looks() -> None:
    state = judged((True, False, 0.0), max_lag=10)
    assert not state.readable and "cut off" in state.why


def test_a_server_that_is_not_a_standby_is_read() -> None:
    assert judged((False, False, None), max_lag=10).readable


def test_without_replicas_every_read_is_answered_from_the_own_store() -> None:
    own = source("primary")
    assert ReadSources(own, []).choose() is own


def test_readable_replicas_take_turns_and_a_lagging_one_is_passed_over() -> None:
    first, second, third = (source(n, Standby(True)) for n in ("r1", "r2", "r3"))
    sources = ReadSources(source("primary"), [first, second, third])
    assert [sources.choose().name for _ in range(3)] == ["r1", "r2", "r3"]  # type: ignore[union-attr]
    second.replica.now = False  # type: ignore[union-attr]
    chosen = {sources.choose().name for _ in range(6)}  # type: ignore[union-attr]
    assert chosen == {"r1", "r3"}


def test_with_no_replica_readable_the_fallback_decides() -> None:
    own, lagging = source("primary"), source("r1", Standby(False))
    assert ReadSources(own, [lagging], fallback="primary").choose() is own
    assert ReadSources(own, [lagging], fallback="unavailable").choose() is None
    assert ReadSources(None, [lagging], fallback="primary").choose() is None


def test_a_replica_not_yet_at_a_position_falls_back_only_to_the_primary_when_allowed() -> None:
    own, replica = source("primary"), source("r1", Standby(True))
    assert ReadSources(own, [replica], fallback="primary").fallback_for(replica) is own
    assert ReadSources(own, [replica], fallback="unavailable").fallback_for(replica) is None
    assert ReadSources(own, [replica]).fallback_for(own) is None
