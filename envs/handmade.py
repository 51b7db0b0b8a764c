"""Hand-made tasks: a built-in crate plus literal text edits.

For tests, examples and the env benchmark, independent of the task synthesiser: each edit
replaces one exact occurrence of a snippet; ``FAIL_TO_PASS`` / ``PASS_TO_PASS`` come from really
running the tests of the pristine and the broken crate (:class:`TestLabeler` reuses one scratch
copy per crate so each labelling is an incremental build).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from cargogym.tasks.corpus import crate_path, read_crate
from cargogym.tasks.record import SubTask, Task, content_hash, now_iso


class HandmadeError(ValueError):
    """An edit whose snippet is missing or ambiguous."""


def apply_edits(files: dict[str, str], edits: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """``files`` with each ``(old, new)`` replaced; ``old`` must occur exactly once in its file."""
    out = dict(files)
    for path, pairs in edits.items():
        if path not in out:
            raise HandmadeError(f"{path}: not a file of the crate")
        text = out[path]
        for old, new in pairs:
            n = text.count(old)
            if n != 1:
                raise HandmadeError(f"{path}: snippet {old!r} occurs {n} times (need exactly 1)")
            text = text.replace(old, new)
        out[path] = text
    return out


class TestLabeler:
    """Runs a crate's tests on variants of its files in one scratch copy (incremental builds)."""

    def __init__(self, sandbox: Any = None, timeout: float = 300.0) -> None:
        self._own_sandbox = sandbox is None
        if sandbox is None:
            from cargogym.sandbox.exec import make_sandbox

            sandbox = make_sandbox("local")
        self.sandbox = sandbox
        self.timeout = timeout
        self._root = Path(tempfile.mkdtemp(prefix="cargogym-handmade-"))
        self._dirs: dict[str, Path] = {}
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def run(self, crate: str, files: dict[str, str]) -> dict[str, str]:
        """Test statuses (qualified name -> passed/failed/ignored) of ``crate`` with ``files``."""
        from cargogym.sandbox.cargo import run_cargo_tests

        key = (crate, content_hash(files))
        if key in self._cache:
            return dict(self._cache[key])
        d = self._dirs.get(crate)
        if d is None:
            d = self._root / crate
            shutil.copytree(crate_path(crate), d, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
            self._dirs[crate] = d
        pristine = read_crate(crate_path(crate))
        for rel in set(pristine) | set(files):
            p = d / rel
            if rel in files:
                p.parent.mkdir(parents=True, exist_ok=True)
                if not p.is_file() or p.read_text(encoding="utf-8") != files[rel]:
                    p.write_text(files[rel], encoding="utf-8")
            elif p.exists():
                p.unlink()
        run = run_cargo_tests(self.sandbox, d, timeout=self.timeout)
        self._cache[key] = dict(run.tests)
        return dict(run.tests)

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)
        if self._own_sandbox:
            self.sandbox.close()


def handmade_task(crate: str, edits: dict[str, list[tuple[str, str]]], labeler: TestLabeler, *,
                  family: str = "single_bug", instance_id: str | None = None, problem_statement: str = "",
                  review_label: str | None = None) -> Task:
    """A task whose broken state is ``crate`` with ``edits``.

    For ``review`` the workspace stays pristine and the edits form the diff under review
    (``review_label`` defaults to "buggy" when some test breaks, else "clean")."""
    from cargogym.sandbox.patch import make_diff

    pristine = read_crate(crate_path(crate))
    broken = apply_edits(pristine, edits)
    changed = sorted(p for p in broken if broken[p] != pristine.get(p))
    before = labeler.run(crate, pristine)
    after = labeler.run(crate, broken)
    passing = sorted(n for n, s in before.items() if s == "passed")
    f2p = [n for n in passing if after.get(n) != "passed"]
    p2p = [n for n in passing if after.get(n) == "passed"]
    iid = instance_id or f"{crate}__handmade_{family}_{content_hash({p: broken[p] for p in changed})[:8]}"
    forward = make_diff({p: pristine[p] for p in changed}, {p: broken[p] for p in changed})
    backward = make_diff({p: broken[p] for p in changed}, {p: pristine[p] for p in changed})
    sub_tasks = []
    if family == "multi_bug":
        for i, path in enumerate(changed):
            only = apply_edits(pristine, {path: edits[path]})
            res = labeler.run(crate, only)
            sub_tasks.append(SubTask(bug_id=i, files=[path], FAIL_TO_PASS=[n for n in passing if res.get(n) != "passed"],
                                     kind="handmade"))
    statement = problem_statement or (
        f"Some tests of the `{crate}` crate fail. Find and fix the bug(s) in the library code "
        "(do not change the tests).")
    common: dict[str, Any] = dict(instance_id=iid, repo=f"builtin:{crate}", test_patch="",
                                  problem_statement=statement, family=family, bug_kinds=["handmade"],
                                  created_at=now_iso(), difficulty="easy")
    if family == "review":
        label = review_label or ("buggy" if f2p else "clean")
        return Task(**common, base_commit=content_hash(pristine), patch="", setup_patch="",
                    FAIL_TO_PASS=f2p, PASS_TO_PASS=p2p if label == "buggy" else passing,
                    files=changed, n_bugs=1 if label == "buggy" else 0, review={"diff": forward, "label": label})
    return Task(**common, base_commit=content_hash(broken), patch=backward, setup_patch=forward,
                FAIL_TO_PASS=f2p, PASS_TO_PASS=p2p, files=changed, n_bugs=max(1, len(changed)) if family == "multi_bug" else 1,
                sub_tasks=sub_tasks)


# -- a small suite on the built-in `ledger` crate: one task per family -------------------------
ROUNDING = ("src/money.rs", ("if remainder.abs() * 2 >= 10_000 {", "if remainder.abs() * 2 > 10_000 {"))
NATURAL_SIGN = ("src/account.rs", ("Side::Credit => -raw,", "Side::Credit => raw,"))
FORMAT_BODY = ('    let sign = if amount < 0 { "-" } else { "" };\n    let abs = amount.unsigned_abs();\n'
               '    let whole = abs / 100;\n    let frac = abs % 100;\n'
               '    format!("{sign}{}.{frac:02}", group_thousands(whole))\n')
SUITE_FAMILIES = ("single_bug", "multi_bug", "implement", "compile_error", "review_buggy", "review_clean")


def ledger_suite(labeler: TestLabeler) -> dict[str, Task]:
    """Hand-made tasks of every family on ``ledger`` (keys: :data:`SUITE_FAMILIES`)."""
    rounding = {ROUNDING[0]: [ROUNDING[1]]}
    return {
        "single_bug": handmade_task("ledger", rounding, labeler, instance_id="ledger__hm_single_bug"),
        "multi_bug": handmade_task("ledger", {**rounding, NATURAL_SIGN[0]: [NATURAL_SIGN[1]]}, labeler,
                                   family="multi_bug", instance_id="ledger__hm_multi_bug"),
        "implement": handmade_task(
            "ledger", {"src/money.rs": [(FORMAT_BODY, "    let _ = (amount, group_thousands as fn(u64) -> String);\n"
                                                      "    todo!(\"format cents as -1,234.05\")\n")]},
            labeler, family="implement", instance_id="ledger__hm_implement",
            problem_statement="Implement `format_cents` in src/money.rs: format cents as \"-1,234.05\" "
                              "(sign, thousands grouped with commas, two decimals)."),
        "compile_error": handmade_task("ledger", {"src/money.rs": [("    let frac = abs % 100;\n", "    let frac = abs % 100\n")]},
                                       labeler, family="compile_error", instance_id="ledger__hm_compile_error",
                                       problem_statement="The `ledger` crate does not compile. Fix it."),
        "review_buggy": handmade_task("ledger", rounding, labeler, family="review", instance_id="ledger__hm_review_buggy",
                                      problem_statement="Review this change to `apply_rate` in the ledger crate."),
        "review_clean": handmade_task(
            "ledger", {"src/money.rs": [("    let quotient = product / 10_000;\n",
                                         "    // integer division truncates toward zero\n    let quotient = product / 10_000;\n")]},
            labeler, family="review", instance_id="ledger__hm_review_clean",
            problem_statement="Review this change to `apply_rate` in the ledger crate."),
    }
