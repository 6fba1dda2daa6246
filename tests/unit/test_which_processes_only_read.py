"""Which settings make a process read-only, and what it then stands on (api/bootstrap_reads.py):
`--read-only` / LEDGER_READ_ONLY, or replicas named without a store of its own."""

from __future__ import annotations

import pytest

from api.bootstrap_reads import is_read_only, reading_url
from api.settings import Settings

PRIMARY = "postgresql://ledger@primary:5432/ledger"
REPLICA = "postgresql://ledger@replica:5432/ledger"


@pytest.fixture(autouse=True)
def no_ledger_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LEDGER_DATABASE_URL", "LEDGER_READ_DATABASE_URL", "LEDGER_READ_ONLY"):
        monkeypatch.delenv(name, raising=False)


def settings(monkeypatch: pytest.MonkeyPatch, **environment: str) -> Settings:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_only_a_replica_url_makes_a_process_that_reads_and_stands_on_that_replica(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    only_replica = settings(monkeypatch, LEDGER_READ_DATABASE_URL=REPLICA)
    assert is_read_only(only_replica)
    assert reading_url(only_replica) == REPLICA


def test_a_primary_with_replicas_writes_unless_told_to_read_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    both = settings(monkeypatch, LEDGER_DATABASE_URL=PRIMARY, LEDGER_READ_DATABASE_URL=REPLICA)
    assert not is_read_only(both)
    monkeypatch.setenv("LEDGER_READ_ONLY", "true")
    told = Settings(_env_file=None)  # type: ignore[call-arg]
    assert is_read_only(told)
    assert reading_url(told) == PRIMARY  # events and keys from the primary, read-only sessions


def test_a_process_without_replicas_writes_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not is_read_only(settings(monkeypatch))


def test_a_replica_url_that_is_not_postgresql_is_refused_naming_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="PostgreSQL streaming replicas"):
        settings(monkeypatch, LEDGER_READ_DATABASE_URL="sqlite:///./var/copy.sqlite")
