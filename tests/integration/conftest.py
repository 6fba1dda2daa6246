"""Fixtures for the read side: read models over the test's store, with their runner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.cli_projections import start_read_side
from api.settings import Settings
from api.wiring import Stores
from domain.clock import MovableClock


@pytest.fixture
def read_side(stores: Stores, settings: Settings, clock: MovableClock) -> Iterator[object]:
    """Not started: tests call `read_side.runner.catch_up()` to project what they wrote
    (or `.runner.start()` to follow the log in the background)."""
    side = start_read_side(stores, settings, run_projections=False, clock=clock)
    try:
        yield side
    finally:
        side.stop()
