"""With CI=true a skip, an xfail or an XPASS anywhere fails the run; outside CI they stay what
they are. Each way of not running a test is written as a small test file and run by a real
pytest with our plugin (tests/no_skips_in_ci.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

WAYS_NOT_TO_RUN = {
    "test_importorskip_at_module_level.py": """
        import pytest
        pytest.importorskip("a_module_that_is_not_installed")
        def test_never_collected(): pass
    """,
    "test_skip_at_module_level.py": """
        import pytest
        pytest.skip("no database here", allow_module_level=True)
        def test_never_collected(): pass
    """,
    "test_skip_marks.py": """
        import pytest
        @pytest.mark.skip(reason="later")
        def test_marked_skip(): pass
        @pytest.mark.skipif(True, reason="not on this machine")
        def test_marked_skipif(): pass
        def test_skipped_inside(): pytest.skip("no browser")
        @pytest.fixture
        def unavailable(): pytest.skip("no server")
        def test_skipped_by_its_fixture(unavailable): pass
    """,
    "test_xfails.py": """
        import pytest
        def test_imperative_xfail(): pytest.xfail("known broken")
        @pytest.mark.xfail(reason="known broken")
        def test_marked_xfail_that_fails(): assert False
        @pytest.mark.xfail(reason="known broken", strict=False)
        def test_marked_xfail_that_passes(): pass
    """,
}
NOT_RUN = 2 + 4 + 3  # two modules, four skips, three xfail outcomes


def _run(tmp_path: Path, ci: bool) -> tuple[int, dict[str, str], str]:
    """Runs pytest over the files; returns its exit code and each test's (or module's) outcome."""
    for name, source in WAYS_NOT_TO_RUN.items():
        (tmp_path / name).write_text(textwrap.dedent(source))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    junit = tmp_path / f"junit-{ci}.xml"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(REPO), **({"CI": "true"} if ci else {}))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.no_skips_in_ci", "-p", "no:cacheprovider",
         "--continue-on-collection-errors", f"--junitxml={junit}", str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    outcomes = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        verdicts = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[f"{case.get('classname')}.{case.get('name')}"] = verdicts[0] if verdicts else "passed"
    return done.returncode, outcomes, done.stdout[-3000:]


def test_in_ci_every_skip_xfail_and_xpass_fails_the_run(tmp_path: Path) -> None:
    code, outcomes, output = _run(tmp_path, ci=True)
    assert code != 0, output
    assert len(outcomes) == NOT_RUN, output
    assert set(outcomes.values()) <= {"failure", "error"}, (outcomes, output)
    assert "was skipped while collecting, in CI" in output
    assert "passed though marked xfail in CI" in output


def test_outside_ci_skips_and_xfails_stay_what_they_are(tmp_path: Path) -> None:
    code, outcomes, output = _run(tmp_path, ci=False)
    assert code == 0, output
    assert "failure" not in outcomes.values() and "error" not in outcomes.values(), outcomes
    assert "6 skipped, 2 xfailed, 1 xpassed" in output, output
