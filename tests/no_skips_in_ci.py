"""In CI nothing may skip, xfail or xpass: a green CI run means every test ran and passed.

A pytest plugin (loaded by `-p` in pyproject.toml's addopts) so that its own test can load it into a pytest
run of made-up test files. Outside CI a skip stays a skip, so a laptop without Chromium or
PostgreSQL can still run the rest.

What it turns into failures when CI=true:
- a skip at collection time (a module-level `pytest.importorskip`, `pytest.skip(...,
  allow_module_level=True)`): the module's collection fails, so the run fails;
- a skip while running (skip and skipif marks, `pytest.skip()` in a test or fixture);
- every xfail outcome: `pytest.xfail()`, an xfail mark that fails as expected, and an XPASS
  (strict or not). A known-broken guarantee is a red CI, not a yellow letter in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reason(longrepr: Any) -> str:
    return str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = (
            f"{collector.nodeid} was skipped while collecting, in CI, where nothing may skip: "
            f"{_reason(report.longrepr)}"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if not IN_CI:
        return
    if hasattr(report, "wasxfail"):
        verdict = "passed though marked xfail" if report.passed else "xfailed"
        reason = report.wasxfail or "no reason given"
        del report.wasxfail  # otherwise pytest reports it as an xfail again, not as a failure
        report.outcome = "failed"
        report.longrepr = f"{verdict} in CI, where no test may xfail ({reason})"
    elif report.skipped:
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where no test may skip: {_reason(report.longrepr)}"
