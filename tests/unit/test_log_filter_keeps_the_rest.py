"""The log filter takes out secrets and contact details and leaves everything else as it was:
a log that lost its messages would hide nothing and tell nothing. Found by `make mutate`: the
journeys only asserted that no secret got through, so a filter that blanked whole messages,
arguments or tracebacks passed them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from api import logging_setup
from api.logging_setup import REDACTED, install_redaction, redact

SECRET = "k3y-0f-the-t3st-5uite-aaaa"
LONGER_SECRET = SECRET + "-and-its-longer-sibling"  # contains the first: longest goes first
EMAIL = "pieter.bakker@example.org"
# A secret inside a longer one that sorts before it: only longest-first takes the whole out.
INNER = "zz-inner-s3cret-of-the-suite"
OUTER = "aa-0uter-" + INNER


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, Lines]]:
    install_redaction([SECRET, LONGER_SECRET, INNER, OUTER])
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


def test_a_secret_inside_a_longer_one_takes_the_whole_longer_one_out(
    log: tuple[logging.Logger, Lines]
) -> None:
    logger, lines = log
    logger.info("keys %s and %s", OUTER, INNER)
    assert lines.lines == [f"keys {REDACTED} and {REDACTED}"]


def test_bytes_that_are_not_utf8_are_logged_as_they_are_and_never_break_the_log_call(
    log: tuple[logging.Logger, Lines]
) -> None:
    logger, lines = log
    logger.info("frame %s", b"\xff\xfe\x00 binary")
    logger.info("frame %s", b"\xff to " + EMAIL.encode())
    kept, scrubbed = lines.lines
    assert kept == "frame b'\\xff\\xfe\\x00 binary'"
    assert scrubbed.startswith("frame b'") and scrubbed.endswith(f" to {REDACTED}'")


def test_an_exception_logged_without_being_raised_loses_its_secrets_too(
    log: tuple[logging.Logger, Lines]
) -> None:
    logger, lines = log
    logger.warning("refused", exc_info=ValueError(f"no mail to {EMAIL}"))  # no traceback
    assert lines.lines == [f"refused\nValueError: no mail to {REDACTED}"]


def test_a_secret_of_twelve_characters_is_known_and_a_shorter_one_is_taken_for_a_word(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logging_setup, "_secrets", set())  # none known yet, as in a new process
    install_redaction(["Zq9-x7Lm-4Wp", "note"])
    assert redact("key Zq9-x7Lm-4Wp in a note") == f"key {REDACTED} in a note"


def test_the_filter_is_installed_once_over_the_record_factory_it_found(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    found = logging.getLogRecordFactory()

    def tagging(*args: object, **kwargs: object) -> logging.LogRecord:
        record = found(*args, **kwargs)
        record.tagged = True
        return record

    logging.setLogRecordFactory(tagging)  # another library's factory, there before ours
    monkeypatch.setattr(logging_setup, "_installed", False)  # as in a fresh process
    try:
        install_redaction([SECRET])
        installed = logging.getLogRecordFactory()
        install_redaction([SECRET])  # a second app in the same process
        assert logging.getLogRecordFactory() is installed, "installed once"
        record = logging.getLogger("ledger.test.filter").makeRecord(
            "ledger.test.filter", logging.INFO, __file__, 1, "key %s to %s", (SECRET, EMAIL), None
        )
        assert record.getMessage() == f"key {REDACTED} to {REDACTED}"
        assert getattr(record, "tagged", False), "the factory found is still called"
    finally:
        logging.setLogRecordFactory(found)
