"""Grade a workspace by SWE-bench's rules, hardened against reward hacking.

:func:`grade` never trusts the episode workspace's state beyond its source text:

1. The agent's changes (``workspace.snapshot()``) are filtered by
   :func:`cargogym.rewards.protect.graded_changes`: test files, test-only modules, ``#[cfg(test)]``
   modules inside source files, ``Cargo.toml``/``build.rs``/config keep their starting content;
   code the agent introduced that the code policy forbids (process exit, harness introspection,
   ``unsafe``, ``cfg``, test attributes, std-macro shadowing, ...) makes the report invalid.
2. They are applied to a **fresh** workspace of the task (pristine pre-built + setup_patch), so
   nothing the agent's code wrote into ``target/`` or elsewhere during the episode survives.
   Every other source file is made equal to the episode's recorded start texts
   (``workspace.start_files()``) — rewritten where it differs, removed where the start has no
   such file — so a tampered pristine cache cannot feed tests or code into grading (a note says
   so when it happens). Then ``task.test_patch`` is applied.
3. Tests run per binary (:mod:`cargogym.rewards.libtest`) with exit-status / summary / log-file
   cross-checks; any untrustworthy binary makes the run invalid → resolution NO.
4. A FAIL_TO_PASS or PASS_TO_PASS test that is missing, ignored or failed does not pass; an
   invalid run has ``valid=False``, resolution NO and pass counts 0. (A compile failure is not
   "invalid": it shows as ``compile_ok=False`` and missing tests.)
   FULL = all F2P and all P2P pass; PARTIAL = at least one F2P passes and all P2P pass; else NO.

``compile_ok`` is ``cargo check`` of the graded state (inferred from the test build when that
already compiled the library outside ``cfg(test)``); ``clippy_warnings`` is clippy's warning count
with its default lints forced on (``--force-warn clippy::all``, so an ``allow`` cannot hide them)
when clippy is installed; ``lints_suppressed`` lists the lints the agent newly silenced with
``allow``/``expect`` (``clippy_clean`` pays only when it is empty).
Review tasks are graded on the verdict against ``task.review["label"]``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cargogym.rewards.protect import graded_changes
from cargogym.sandbox.exec import Sandbox
from cargogym.sandbox.patch import PatchError, apply_patch
from cargogym.sandbox.workspace import read_tree
from cargogym.tasks.record import Task

RESOLUTIONS = ("FULL", "PARTIAL", "NO")
VERDICTS = ("APPROVE", "REQUEST_CHANGES")


@dataclass
class GradingReport:
    instance_id: str
    resolution: str                       # "FULL" | "PARTIAL" | "NO"
    resolved: bool                        # resolution == "FULL"
    compile_ok: bool
    f2p_passed: int
    f2p_total: int
    p2p_passed: int
    p2p_total: int
    tests: dict[str, str] = field(default_factory=dict)      # name -> passed|failed|ignored|missing
    clippy_available: bool = False
    clippy_warnings: int | None = None
    valid: bool = True
    problems: list[str] = field(default_factory=list)
    review_verdict: str | None = None
    review_correct: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)   # F2P/P2P name -> first panic lines
    notes: list[str] = field(default_factory=list)           # e.g. protected files that were reset
    build_errors: list[str] = field(default_factory=list)
    lints_suppressed: list[str] = field(default_factory=list)  # "file: lint" the agent allow()ed

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GradingReport":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def f2p_fraction(self) -> float:
        return self.f2p_passed / self.f2p_total if self.f2p_total else (1.0 if self.resolved else 0.0)

    def summary(self) -> str:
        s = (f"{self.instance_id}: {self.resolution} — F2P {self.f2p_passed}/{self.f2p_total}, "
             f"P2P {self.p2p_passed}/{self.p2p_total}, compile_ok={self.compile_ok}")
        if self.review_verdict is not None or self.review_correct is not None:
            s += f", verdict={self.review_verdict} ({'correct' if self.review_correct else 'wrong'})"
        if not self.valid:
            s += " — INVALID: " + "; ".join(self.problems[:3])
        return s


def resolution_of(f2p: dict[str, str], p2p: dict[str, str]) -> str:
    """SWE-bench's FULL / PARTIAL / NO from per-test statuses (only "passed" passes)."""
    f_ok = sum(1 for s in f2p.values() if s == "passed")
    p_ok = all(s == "passed" for s in p2p.values())
    if p_ok and f_ok == len(f2p):
        return "FULL"
    if p_ok and f_ok > 0:
        return "PARTIAL"
    return "NO"


_VERDICT = re.compile(r"^[\s*_#>`\"'\[(]*(APPROVE|REQUEST[ _-]CHANGES)\b", re.IGNORECASE)


def parse_verdict(text: str | None) -> str | None:
    """``"APPROVE"`` / ``"REQUEST_CHANGES"`` when ``text`` starts with one (markdown allowed), else None.

    The single definition used by the envs (which parse the reviewer's final message) and by
    grading; "APPROVED" or a verdict later in the text is not a verdict.
    """
    if not text:
        return None
    m = _VERDICT.match(text)
    if not m:
        return None
    return "APPROVE" if m.group(1).upper() == "APPROVE" else "REQUEST_CHANGES"


def _grade_review(task: Task, verdict: str | None, t0: float) -> GradingReport:
    label = (task.review or {}).get("label")
    v = parse_verdict(verdict) if verdict not in VERDICTS else verdict
    correct = v is not None and ((v == "REQUEST_CHANGES") == (label == "buggy"))
    problems = [] if label in ("buggy", "clean") else [f"review task without a valid label ({label!r})"]
    if v is None:
        problems.append("no verdict (the final message must start with APPROVE or REQUEST_CHANGES)")
    return GradingReport(
        instance_id=task.instance_id, resolution="FULL" if correct else "NO", resolved=correct,
        compile_ok=True, f2p_passed=0, f2p_total=0, p2p_passed=0, p2p_total=0,
        valid=label in ("buggy", "clean"), problems=problems, review_verdict=v,
        review_correct=correct, timings={"total": time.monotonic() - t0})


def grade(task: Task, workspace: Any, sandbox: Sandbox, review_verdict: str | None = None,
          *, timeout: float = 180.0, clippy: bool = True) -> GradingReport:
    """Grade ``workspace`` for ``task`` (see module docstring). Never raises for agent-caused
    problems: they show up in ``problems`` / ``valid`` / the per-test table. Raises
    :class:`~cargogym.sandbox.workspace.WorkspaceError` when the episode's or the grading
    workspace lost its files (infrastructure: an empty crate must not be graded as the agent's)."""
    from cargogym.sandbox.cargo import run_cargo_check, run_cargo_tests, run_clippy

    t0 = time.monotonic()
    if task.family == "review":
        return _grade_review(task, review_verdict, t0)
    timings: dict[str, float] = {}
    problems: list[str] = []
    notes: list[str] = []

    # 1-2. fresh workspace with the agent's graded changes and the test patch
    snapshot = workspace.snapshot()
    start = workspace.start_files()
    changes = graded_changes(snapshot, start)
    if changes.ignored:
        notes.append("reset to their starting content before grading: " + ", ".join(changes.ignored))
    notes += changes.restored
    if changes.lints_suppressed:
        notes.append("lints silenced by the agent (clippy_clean is not paid): " + ", ".join(changes.lints_suppressed))
    problems += changes.tampering
    manager = getattr(workspace, "manager", None)
    gws = manager.create(task) if manager is not None else workspace
    own = gws is not workspace
    try:
        def put(rel: str, text: str | None, failed: list[str]) -> None:
            try:  # odd names / symlinks made by the agent's code never make grading raise
                gws.delete(rel) if text is None else gws.write_text(rel, text)
            except (PatchError, OSError, ValueError) as e:
                failed.append(f"could not write {rel!r} into the grading workspace: {e}")

        # everything but the graded changes = the recorded start (in place without a manager:
        # protected files reset; with one: a no-op unless the pristine cache was tampered with)
        want = {**start, **changes.files}
        have = read_tree(Path(gws.path))
        off = [rel for rel in sorted(set(start) | set(have))
               if rel not in changes.files and have.get(rel) != start.get(rel)]
        for rel in off:
            put(rel, start.get(rel), problems)
        if own and off:
            notes.append("the fresh grading workspace differed from the task's recorded start in "
                         + ", ".join(off) + " (rewritten from the start texts)")
        for rel, text in changes.files.items():
            if have.get(rel) != want[rel]:
                put(rel, text, notes)
        if task.test_patch and task.test_patch.strip():
            try:
                apply_patch(gws.path, task.test_patch)
            except PatchError as e:
                problems.append(f"test_patch does not apply: {e}")
        timings["workspace"] = time.monotonic() - t0

        # 3. tests
        t = time.monotonic()
        run = run_cargo_tests(sandbox, gws.path, timeout=timeout)
        timings["tests"] = time.monotonic() - t
        # untrustworthy output → no credit; a plain compile failure is not "invalid" (compile_ok says it)
        problems += [p for p in run.problems if p != "build failed"]
        tests: dict[str, str] = dict(run.tests)
        f2p = {n: tests.get(n, "missing") for n in task.FAIL_TO_PASS}
        p2p = {n: tests.get(n, "missing") for n in task.PASS_TO_PASS}
        for n, s in {**f2p, **p2p}.items():
            tests.setdefault(n, s)
        failures = {n: run.failures[n] for n in list(f2p) + list(p2p) if n in run.failures}

        # compile_ok: cargo check, unless the test build already compiled the lib outside cfg(test)
        t = time.monotonic()
        has_integration = any(b.target.startswith("test:") and b.executable for b in run.binaries)
        if run.build_ok and has_integration:
            compile_ok = True
        else:
            check = run_cargo_check(sandbox, gws.path, timeout=min(timeout, 180))
            compile_ok = check.ok
        timings["check"] = time.monotonic() - t

        clippy_available, clippy_warnings = False, None
        if clippy:
            t = time.monotonic()
            c = run_clippy(sandbox, gws.path, timeout=min(timeout, 180))
            clippy_available, clippy_warnings = c.available, c.warnings
            if not c.available:
                notes.append(c.note)
            timings["clippy"] = time.monotonic() - t
        # the results above are only about this crate if it was still there when they were made
        check = getattr(gws, "check", None)
        if check is not None:
            check()
    finally:
        if own:
            gws.close()

    valid = not problems
    resolution = resolution_of(f2p, p2p) if valid else "NO"
    timings["total"] = time.monotonic() - t0
    # an invalid run earns nothing: its pass counts are 0 (``tests`` keeps what the output claimed)
    return GradingReport(
        instance_id=task.instance_id, resolution=resolution, resolved=resolution == "FULL",
        compile_ok=compile_ok,
        f2p_passed=sum(1 for s in f2p.values() if s == "passed") if valid else 0, f2p_total=len(f2p),
        p2p_passed=sum(1 for s in p2p.values() if s == "passed") if valid else 0, p2p_total=len(p2p),
        tests=tests, clippy_available=clippy_available, clippy_warnings=clippy_warnings,
        valid=valid, problems=problems, review_verdict=None, review_correct=None,
        timings=timings, failures=failures, notes=notes, build_errors=run.build_errors[:5],
        lints_suppressed=changes.lints_suppressed,
    )
