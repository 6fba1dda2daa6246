"""`make mutate`: mutation testing of the modules that carry docs/reliability.md's guarantees.

Each group is one guarantee: its modules are mutated and checked against the tests that prove
that guarantee only. One selection for all would make a mutant of the body limits (which every
HTTP test reaches) run the key-epoch and projection-crash tests too: a full run took most of a
day on two cores, by groups it fits in a session.

mutmut reads its settings from the pyproject.toml of the directory it runs in, so each group
runs in its own copy under var/mutate/<group>/. Results are kept in docs/mutations/results/ (the
part of mutmut's state that says which mutant was killed, by function hash), so a run on
another machine resumes instead of starting over, and a changed function is tried again.
docs/mutations/survivors.md is written from those results and docs/mutations/verdicts.tsv (why
each survivor survives, or the test that kills it now)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutate"
RESULTS = ROOT / "docs" / "mutations" / "results"
VERDICTS = ROOT / "docs" / "mutations" / "verdicts.tsv"
SURVIVORS = ROOT / "docs" / "mutations" / "survivors.md"
COPIED = ("api", "domain", "projections", "tests", "bench", "docs")
MUTMUT = Path(sys.executable).parent / "mutmut"
NOT_KILLED = ("survived", "no tests", "timeout")

# group: (modules, the in-process tests that prove its guarantee). Tests that start processes
# cannot count: mutmut sees only its own process (docs/reliability.md, "Broken on purpose").
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "idempotency": ([
        "api/http/idempotency.py", "projections/storage/idempotency.py",
        "projections/storage/sortable_stamps.py",
    ], [
        "tests/integration/test_idempotency_claims.py",
        "tests/integration/test_idempotency_store_housekeeping.py",
        "tests/integration/test_in_doubt_commits.py",
        "tests/e2e/test_idempotency.py",
        "tests/e2e/test_idempotency_after_failures.py",
        "tests/e2e/test_idempotency_problem_answers.py",
        "tests/e2e/test_idempotency_settling.py",
    ]),
    "limits": (["api/http/limits.py"], [
        "tests/reliability/test_input_beyond_the_schema.py",
        "tests/e2e/test_body_limits_answers.py",
        "tests/unit/test_body_limits_middleware.py",
    ]),
    "log-filter": (["api/logging_setup.py"], [
        "tests/reliability/test_secrets_and_logs.py",
        "tests/unit/test_log_filter_keeps_the_rest.py",
        "tests/unit/test_log_filter_knows_every_secret.py",
    ]),
    "group-commit": (["domain/ledger/group_commit.py"], [
        "tests/unit/test_group_commit.py",
        "tests/unit/test_group_commit_every_caller_answered.py",
        "tests/unit/test_group_commit_batches.py",
        "tests/integration/test_group_commit_stores.py",
    ]),
    "projections": (["projections/read_models/runner.py", "projections/read_models/batches.py",
                     "projections/read_models/base.py", "projections/read_models/writes.py"], [
        "tests/integration/test_projection_runner.py",
        "tests/integration/test_projection_runner_lock.py",
        "tests/integration/test_projection_runner_progress.py",
        "tests/integration/test_projection_runner_says_and_waits.py",
        "tests/integration/test_projection_batches_stay_whole.py",
        "tests/integration/test_projection_writes_in_one_batch.py",
        "tests/integration/test_read_model_failures.py",
    ]),
    "sealer": (["projections/merkle_log/sealer.py", "projections/merkle_log/sealed_state.py"], [
        "tests/integration/test_sealer.py",
        "tests/integration/test_sealer_turns.py",
        "tests/integration/test_sealer_bounds.py",
        "tests/integration/test_sealer_is_a_tracked_consumer.py",
    ]),
    # The one mechanism the runner and the sealer follow the log by (its leader lock taken as
    # every advisory lock is): the tests of both.
    "follower": (["projections/storage/follower.py", "projections/storage/advisory_locks.py"], [
        "tests/unit/test_log_follower.py",
        "tests/integration/test_projection_runner.py",
        "tests/integration/test_projection_runner_lock.py",
        "tests/integration/test_projection_runner_progress.py",
        "tests/integration/test_projection_runner_says_and_waits.py",
        "tests/integration/test_sealer.py",
        "tests/integration/test_sealer_turns.py",
        "tests/integration/test_sealer_bounds.py",
        "tests/integration/test_sealer_is_a_tracked_consumer.py",
    ]),
    "key-store": (["projections/storage/key_store.py", "projections/storage/tables.py"], [
        "tests/integration/test_shredding_in_the_key_store.py",
        "tests/integration/test_key_store_edges.py",
        "tests/reliability/test_key_epochs.py",
    ]),
}


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def prepare(group: str) -> Path:
    """The group's copy of the repository, its settings, and the results kept so far."""
    modules, tests = GROUPS[group]
    work = WORK / group
    for name in COPIED:
        # copy2 keeps modification times: mutmut regenerates mutants only of changed files.
        shutil.copytree(ROOT / name, work / name, dirs_exist_ok=True, copy_function=shutil.copy2,
                        ignore=shutil.ignore_patterns("__pycache__", "mutations"))
    settings = (ROOT / "pyproject.toml").read_text()
    group_settings = (f"only_mutate = {_toml_list(modules)}\n"
                      f"pytest_add_cli_args_test_selection = {_toml_list(tests)}\n")
    written = work / "pyproject.toml"
    if written.exists() and group_settings not in written.read_text():
        # Other tests: mutmut would throw every verdict away. A test added kills more, never
        # fewer, so the verdicts stay and only the map of tests to functions is made again.
        (work / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    written.write_text(settings.replace("[tool.mutmut]\n", "[tool.mutmut]\n" + group_settings, 1))
    for module in modules:
        kept = RESULTS / (module + ".meta")
        meta = work / "mutants" / (module + ".meta")
        if kept.exists() and not meta.exists():
            meta.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(kept, meta)
    return work


def keep(group: str) -> None:
    for module in GROUPS[group][0]:
        meta = WORK / group / "mutants" / (module + ".meta")
        if meta.exists():
            (RESULTS / module).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(meta, RESULTS / (module + ".meta"))


def run(group: str, names: list[str]) -> None:
    work = prepare(group)
    env = dict(os.environ)
    env.setdefault("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    print(f"== {group}: {', '.join(GROUPS[group][0])}", flush=True)
    try:
        subprocess.run([str(MUTMUT), "run", *names], cwd=work, env=env, check=False)
    finally:
        keep(group)  # an interrupted run keeps what it found


def results() -> dict[str, tuple[str, str]]:
    """mutant name -> (module, status), from the kept results."""
    from mutmut.stats import status_by_exit_code  # the `mutate` extra, only here

    found: dict[str, tuple[str, str]] = {}
    for modules, _ in GROUPS.values():
        for module in modules:
            kept = RESULTS / (module + ".meta")
            if not kept.exists():
                continue
            for name, code in json.loads(kept.read_text())["exit_code_by_key"].items():
                found[name] = (module, status_by_exit_code[code])
    return found


def verdicts() -> dict[str, str]:
    if not VERDICTS.exists():
        return {}
    lines = VERDICTS.read_text().splitlines()
    return dict(line.split("\t", 1) for line in lines if "\t" in line and not line.startswith("#"))


def change(group: str, name: str) -> tuple[str, str]:
    if not (WORK / group / "mutants").exists():
        return "(not run on this machine)", ""
    shown = subprocess.run([str(MUTMUT), "show", name], cwd=WORK / group, capture_output=True,
                           text=True, check=False).stdout.splitlines()
    was = " ".join(s[1:].strip() for s in shown if s.startswith("-") and not s.startswith("---"))
    became = " ".join(s[1:].strip() for s in shown if s.startswith("+") and not s.startswith("+++"))
    return tuple(s.replace("|", "\\|").replace("`", "'")[:120] for s in (was, became))  # type: ignore[return-value]


def report() -> None:
    """Counts per module (for docs/reliability.md) and docs/mutations/survivors.md."""
    found, why = results(), verdicts()
    group_of = {m: g for g, (modules, _) in GROUPS.items() for m in modules}
    counts: dict[str, Counter[str]] = {}
    for module, status in found.values():
        counts.setdefault(module, Counter())[status] += 1
    columns = ["killed", "survived", "no tests", "timeout", "not checked"]
    print("| module | mutants | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 2) + "|")
    for module in sorted(counts):
        c = counts[module]
        print(f"| `{module}` | {sum(c.values())} | " + " | ".join(str(c[k]) for k in columns) + " |")
    total = sum((c for c in counts.values()), Counter())
    print(f"| **all** | **{sum(total.values())}** | " +
          " | ".join(f"**{total[k]}**" for k in columns) + " |")

    rows = [(n, m, s) for n, (m, s) in sorted(found.items()) if s in NOT_KILLED]
    lines = ["# Surviving mutants of `make mutate`", "",
             "Written by `python -m tests.mutate --report` from docs/mutations/results/ and the",
             "verdicts in docs/mutations/verdicts.tsv: every mutant that no test killed, with why it",
             "survives (an equivalent change, or a path only the process tests reach) or the test",
             "that kills it since. See docs/reliability.md, \"Mutation check\".", ""]
    for module in sorted({m for _, m, _ in rows}):
        lines += [f"## `{module}`", "", "| mutant | result | was | became | why |", "|---|---|---|---|---|"]
        for name, _, status in (r for r in rows if r[1] == module):
            was, became = change(group_of[module], name)
            short = name.split("__mutmut_")[0].split(".")[-1].replace("ǁ", ".").strip(".") + \
                "#" + name.rsplit("_", 1)[-1]
            lines.append(f"| `{short}` | {status} | `{was}` | `{became}` | "
                         f"{why.get(name, '**not explained yet**')} |")
        lines.append("")
    SURVIVORS.write_text("\n".join(lines))
    unexplained = sum(1 for n, _, _ in rows if n not in why)
    print(f"\n{len(rows)} not killed, {unexplained} without a verdict; wrote {SURVIVORS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"some of: {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--report", action="store_true", help="only write the report")
    parser.add_argument("--recheck", action="store_true",
                        help="try what no test killed again (after tests were added)")
    args = parser.parse_args()
    unknown = set(args.groups) - set(GROUPS)
    if unknown:
        parser.error(f"no such group: {', '.join(sorted(unknown))}")
    if not args.report:
        for group in args.groups or list(GROUPS):
            run(group, [])  # what was never tried, or whose function changed since
            if args.recheck:
                modules = GROUPS[group][0]
                names = [n for n, (m, s) in results().items() if m in modules and s in NOT_KILLED]
                if names:
                    run(group, names)
    report()


if __name__ == "__main__":
    main()
