"""The direction of the house: `api/` may use everything, `projections/` the domain and the
storage drivers, `domain/` only itself, the standard library and `eventsourcing`.

One library more is allowed in the domain: `cryptography`'s AES-GCM, the primitive of
crypto-shredding (DESIGN.md §4: a destroyed key is what makes an erasure final). It
does no I/O and holds no state, like the standard library, and writing AES by hand is not an
option; eventsourcing's own cipher has no associated data, which binds a sealed field to its
subject and field name.

Every module's imports are read from its source, including imports inside functions, so a
late `from api import ...` in a projection fails here rather than in a review.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("domain", "projections", "api")


def modules_of(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def imported_names(path: Path) -> set[str]:
    return names_imported_by(path.read_text(), str(path))


def names_imported_by(source: str, filename: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


# Read while the tests are collected, before any test starts a thread: CPython 3.11's AST
# builder keeps its recursion count per interpreter, and a thread left running by an earlier
# test that parses too (a template, a module) makes ast.parse fail with "recursion depth
# mismatch" (python/cpython#106905).
IMPORTS = {
    path: imported_names(path)
    for folder in FIRST_PARTY for path in modules_of(folder)
}


def top_level(name: str) -> str:
    return name.split(".")[0]


def test_there_are_modules_to_check_in_every_floor() -> None:
    for folder in FIRST_PARTY:
        assert len(modules_of(folder)) > 5, folder


@pytest.mark.parametrize("path", modules_of("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_imports_only_itself_the_standard_library_and_eventsourcing(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"domain", "eventsourcing", "cryptography", "__future__"}
    outside = sorted(n for n in IMPORTS[path] if top_level(n) not in allowed)
    assert outside == [], f"{path.relative_to(ROOT)} imports {outside}"


@pytest.mark.parametrize(
    "path", modules_of("projections"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_read_side_never_imports_the_entry_points(path: Path) -> None:
    upward = sorted(n for n in IMPORTS[path] if top_level(n) == "api")
    assert upward == [], f"{path.relative_to(ROOT)} imports {upward}"


# Within a floor, each folder's __init__.py says what it may not import: what builds on it.
NOT_BELOW = {
    "projections/storage": ("projections.read_models", "projections.merkle_log", "projections.audit"),
    "api/http": ("api.routers", "api.services", "api.portal", "api.cli"),
    "api/services": ("api.routers", "api.portal", "api.cli"),
    "api/routers": ("api.portal", "api.cli"),
    "api/schemas": ("api.routers", "api.services", "api.portal", "api.cli", "projections"),
    "api/portal": ("api.routers", "api.cli"),
    "api/privacy_center": ("api.routers", "api.cli"),
    "api/banner": ("api.routers", "api.portal", "api.privacy_center", "api.cli"),
}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize(
    "folder,path",
    [(folder, path) for folder in NOT_BELOW for path in modules_of(folder)],
    ids=lambda item: str(item.relative_to(ROOT)) if isinstance(item, Path) else item,
)
def test_a_folder_never_imports_what_builds_on_it(folder: str, path: Path) -> None:
    upward = sorted(n for n in IMPORTS[path] if _within(n, NOT_BELOW[folder]))
    assert upward == [], f"{path.relative_to(ROOT)} imports {upward}"


SNEAKY = names_imported_by(
    "def f():\n    from api.http.auth import Caller\n    import psycopg\n", "sneaky.py"
)


def test_an_import_inside_a_function_is_seen_too() -> None:
    assert {top_level(n) for n in SNEAKY} == {"api", "psycopg"}
