"""When epochs close, which KEKs are destroyed, and when an erasure is final."""

from __future__ import annotations

import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.key_epochs import EpochPolicy, is_final
from projections.storage.key_directory import KeyDirectory

T0 = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


def test_an_epoch_is_due_to_close_when_its_hours_are_up() -> None:
    policy = EpochPolicy(hours=24, kept=7)
    assert not policy.due_to_close(T0, T0 + timedelta(hours=23, minutes=59))
    assert policy.due_to_close(T0, T0 + timedelta(hours=24))


def test_a_kek_is_destroyed_once_the_kept_number_of_newer_epochs_exist() -> None:
    policy = EpochPolicy(hours=24, kept=7)
    assert policy.to_destroy(current=8, held=[1, 2, 3, 8]) == [1]
    assert policy.to_destroy(current=7, held=[1, 2, 7]) == []
    assert policy.to_destroy(current=20, held=[0, 12, 13, 20]) == [0, 12, 13]


def test_an_erasure_is_final_only_when_every_kek_from_its_first_to_its_last_epoch_is_gone() -> None:
    assert not is_final(3, 5, {3, 4})
    assert is_final(3, 5, {1, 2, 3, 4, 5})
    assert not is_final(0, 2, {1, 2})  # the master key of before epochs still exists
    assert is_final(None, None, set())  # a fence for an id that never had a key


def test_the_final_date_is_when_the_last_epoch_is_kept_no_more_if_epochs_close_on_time() -> None:
    policy = EpochPolicy(hours=24, kept=7)
    assert policy.destroyed_by(last_epoch=5, current=5, current_opened_at=T0) == T0 + timedelta(days=7)
    assert policy.destroyed_by(last_epoch=5, current=9, current_opened_at=T0) == T0 + timedelta(days=3)
    # Overdue (a process was down): at the next close.
    assert policy.destroyed_by(last_epoch=1, current=30, current_opened_at=T0) == T0 + timedelta(days=1)


@pytest.mark.parametrize(("hours", "kept"), [(0, 7), (24, 0)])
def test_an_epoch_policy_that_would_destroy_the_current_key_is_refused(hours: float, kept: int) -> None:
    with pytest.raises(ValueError):
        EpochPolicy(hours=hours, kept=kept)


def test_the_key_directory_is_private_and_a_destroyed_kek_is_overwritten_before_it_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = KeyDirectory(tmp_path / "keys")
    keys.create(1)
    keys.create(1)  # a second process making the same epoch keeps the first key
    file = keys.file_of(1)
    before = file.read_bytes()
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert keys.held() == [1] and keys.get(1) is not None
    written: list[bytes] = []
    real_write = __import__("os").write
    monkeypatch.setattr("os.write", lambda fd, data: (written.append(data), real_write(fd, data))[1])

    assert keys.destroy(1)

    assert not file.exists() and keys.get(1) is None and keys.held() == []
    assert written and written[0] != before and len(written[0]) >= len(before)
    assert list((tmp_path / "keys").iterdir()) == []  # no temporary file left either


def test_the_master_key_of_before_epochs_is_epoch_zero_and_only_its_file_can_be_destroyed(
    tmp_path: Path,
) -> None:
    master = tmp_path / "master.key"
    master.write_text("a" * 43 + "=")
    in_file = KeyDirectory(tmp_path / "keys", b"k" * 32, master)
    assert in_file.held() == [0] and in_file.destroy(0) and not master.exists()
    from_environment = KeyDirectory(tmp_path / "keys2", b"k" * 32, None)
    assert from_environment.destroy(0) is False and from_environment.get(0) is not None
