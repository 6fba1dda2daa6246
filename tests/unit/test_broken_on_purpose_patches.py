"""docs/mutations/ holds one patch per guarantee, each breaking it the way a reviewer did, and
docs/reliability.md names the test that fails when it is applied. A patch that no longer applies
(the code moved) proves nothing, so each must still apply, and each must be in the docs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PATCHES = sorted((REPO / "docs" / "mutations").glob("*.patch"))


def test_there_are_patches_to_break_the_guarantees_with() -> None:
    assert len(PATCHES) >= 6, PATCHES


@pytest.mark.parametrize("patch", PATCHES, ids=[p.stem for p in PATCHES])
def test_each_patch_still_applies_to_the_code_and_is_in_the_docs(patch: Path) -> None:
    git = shutil.which("git")
    assert git is not None, "git is needed to check the patches"
    checked = subprocess.run(
        [git, "apply", "--check", str(patch)], cwd=REPO, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert f"docs/mutations/{patch.name}" in (REPO / "docs" / "reliability.md").read_text()
