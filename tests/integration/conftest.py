"""Fixtures for the read side: read models over the test's store, with their runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.bootstrap import start_read_side
from api.settings import Settings
from api.bootstrap import Stores, open_stores
from domain.clock import MovableClock
from tests.conftest import make_settings


@pytest.fixture
def read_side(stores: Stores, settings: Settings, clock: MovableClock) -> Iterator[object]:
    """Not started: tests call `read_side.runner.catch_up()` to project what they wrote
    (or `.runner.start()` to follow the log in the background)."""
    side = start_read_side(stores, settings, run_projections=False, clock=clock)
    try:
        yield side
    finally:
        side.stop()


@pytest.fixture
def durable_read_side(
    durable_stores: Stores, durable_settings: Settings, clock: MovableClock
) -> Iterator[Any]:
    """`read_side` over the durable stores (SQLite file, PostgreSQL), not started either."""
    side = start_read_side(durable_stores, durable_settings, run_projections=False, clock=clock)
    try:
        yield side
    finally:
        side.stop()


@pytest.fixture
def pg_stores(pg_url: str, tmp_path: Path, clock: MovableClock) -> Iterator[Stores]:
    """The stores of a brand-new PostgreSQL database."""
    opened = open_stores(make_settings(pg_url, tmp_path / "var"), clock=clock)
    try:
        yield opened
    finally:
        opened.close()
