"""The log filter takes out secrets and contact details and leaves everything else as it was:
a log that lost its messages would hide nothing and tell nothing. Found by `make mutate`: the
journeys only asserted that no secret got through, so a filter that blanked whole messages,
arguments or tracebacks passed them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from api.logging_setup import REDACTED, install_redaction

SECRET = "k3y-0f-the-t3st-5uite-aaaa"
LONGER_SECRET = SECRET + "-and-its-longer-sibling"  # contains the first: longest goes first
EMAIL = "pieter.bakker@example.org"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, Lines]]:
    install_redaction([SECRET, LONGER_SECRET])
    logger = logging.getLogger("ledger.test.filter")
    lines = Lines()
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, lines
    finally:
        logger.removeHandler(lines)


def test_a_line_with_nothing_to_hide_is_kept_exactly(log: tuple[logging.Logger, Lines]) -> None:
    logger, lines = log
    logger.info("batch %s to %d of %s took %.1f s", "events", 500, b"read_models", 0.25)
    logger.info("%(name)s stands by; %(count)d waiting", {"name": "sealer", "count": 3})
    logger.info({"projection": "access_log", "position": 7})

    assert lines.lines == [
        "batch events to 500 of b'read_models' took 0.2 s",
        "sealer stands by; 3 waiting",
        "{'projection': 'access_log', 'position': 7}",
    ]


def test_secrets_are_taken_out_wherever_they_are_and_the_rest_stays(
    log: tuple[logging.Logger, Lines]
) -> None:
    logger, lines = log
    logger.info("key %s for %s", LONGER_SECRET, "olga")
    logger.info("mail %(to)s about %(what)s", {"to": EMAIL, "what": "invoice"})
    logger.info("raw %s", f"to {EMAIL}".encode())
    logger.info({"email": EMAIL, "position": 7})

    assert lines.lines == [
        f"key {REDACTED} for olga",
        f"mail {REDACTED} about invoice",
        f"raw b'to {REDACTED}'",
        f"{{'email': '{REDACTED}', 'position': 7}}",
    ]


def test_a_traceback_keeps_its_frames_and_loses_its_secrets(
    log: tuple[logging.Logger, Lines]
) -> None:
    logger, lines = log
    try:
        raise RuntimeError(f"could not store {EMAIL} under {SECRET}")
    except RuntimeError:
        logger.exception("the write failed")
    logger.info("where we are", stack_info=True)

    failure, stack = lines.lines
    assert failure.startswith("the write failed\nTraceback (most recent call last):")
    assert f"RuntimeError: could not store {REDACTED} under {REDACTED}" in failure
    assert "Stack (most recent call last):" in stack and "test_log_filter_keeps_the_rest" in stack
