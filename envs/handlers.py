"""Tool implementations over a workspace and a sandbox.

Each handler returns a :class:`ToolOutcome`: the observation text the agent sees and a structured
``result`` for ``info``. Expected problems (missing file, failing hunk, edit not allowed) are
``error`` outcomes; only infrastructure failures raise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from cargogym.envs.frames import PathError, normalize_rel

LOG_LIMIT = 200_000
PANIC_LINES = 6


@dataclass
class ToolOutcome:
    observation: str
    result: dict[str, Any] | None = None
    error: str | None = None
    conflict: bool = False          # an edit outside the frame's files (ownership)
    violation: bool = False         # an edit the role may not make
    edited: list[str] = field(default_factory=list)

    @classmethod
    def fail(cls, error: str, **kw: Any) -> "ToolOutcome":
        return cls(observation=f"error: {error}", error=error, **kw)


def _read(ws: Any, rel: str) -> str:
    return ws.read_text(rel)


def _out_of_bounds(ws: Any, rel: str) -> str | None:
    """Why ``rel`` may not be read or listed (build output, VCS data, a symlink), else None."""
    parts = rel.split("/")
    if parts[0] in ("target", ".git"):
        return f"{rel}: {parts[0]}/ is not part of the crate's source and cannot be read or listed"
    cur = ws.path
    for part in parts:
        cur = cur / part
        if cur.is_symlink():
            return f"{rel}: {cur.relative_to(ws.path).as_posix()} is a symbolic link; links are not followed"
    return None


def read_file(ws: Any, path: str, start: int | None, end: int | None, max_lines: int) -> ToolOutcome:
    try:
        rel = normalize_rel(path)
    except PathError as e:
        return ToolOutcome.fail(str(e))
    if rel != "." and (why := _out_of_bounds(ws, rel)):
        return ToolOutcome.fail(why)
    target = ws.path / rel
    if target.is_dir():
        return ToolOutcome.fail(f"{rel} is a folder; use list_files(dir={rel!r})")
    if not target.is_file():
        return ToolOutcome.fail(f"no such file: {rel} (use list_files to see the crate's files)")
    try:
        text = _read(ws, rel)
    except UnicodeDecodeError:
        return ToolOutcome.fail(f"{rel} is not a UTF-8 text file")
    except (OSError, ValueError) as e:  # e.g. a path the workspace refuses (PatchError)
        return ToolOutcome.fail(f"{rel} cannot be read: {e}")
    lines = text.splitlines()
    n = len(lines)
    a = start or 1
    if n and a > n:
        return ToolOutcome.fail(f"{rel} has {n} lines; start={a} is past the end")
    b = min(end or n, n, a + max_lines - 1)
    if end is not None and end < a:
        return ToolOutcome.fail(f"end ({end}) is before start ({a})")
    body = "\n".join(lines[a - 1:b])
    head = f"{rel} (lines {a}-{b} of {n})" if n else f"{rel} (empty file)"
    tail = f"\n… {n - b} more lines; read_file(path={rel!r}, start={b + 1})" if b < n else ""
    return ToolOutcome(observation=f"{head}\n{body}{tail}", result={"path": rel, "start": a, "end": b, "lines": n})


def list_files(ws: Any, folder: str | None) -> ToolOutcome:
    rel = "."
    if folder not in (None, "", ".", "./"):
        try:
            rel = normalize_rel(folder)  # type: ignore[arg-type]
        except PathError as e:
            return ToolOutcome.fail(str(e))
        if rel != "." and (why := _out_of_bounds(ws, rel)):
            return ToolOutcome.fail(why)
        if not (ws.path / rel).is_dir():
            return ToolOutcome.fail(f"no such folder: {rel}")
    try:
        files = sorted(ws.list_files(rel))
    except (OSError, ValueError) as e:
        return ToolOutcome.fail(f"{rel} cannot be listed: {e}")
    if rel != ".":  # accept either relative-to-root or relative-to-folder listings
        files = [f if f.startswith(rel + "/") else f"{rel}/{f}" for f in files]
    obs = "\n".join(files) if files else "(no files)"
    return ToolOutcome(observation=obs, result={"dir": rel, "files": files})


def search(ws: Any, pattern: str, path: str | None, max_results: int) -> ToolOutcome:
    if not pattern:
        return ToolOutcome.fail("search: pattern is empty")
    scope = None
    if path not in (None, "", "."):
        try:
            scope = normalize_rel(path)  # type: ignore[arg-type]
        except PathError as e:
            return ToolOutcome.fail(str(e))
    literal = False
    try:
        rx = re.compile(pattern)
    except re.error:
        rx = re.compile(re.escape(pattern))
        literal = True
    hits: list[str] = []
    total = 0
    for rel in sorted(ws.list_files(".")):
        if scope and not (rel == scope or rel.startswith(scope.rstrip("/") + "/")):
            continue
        try:
            text = _read(ws, rel)
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if rx.search(line):
                total += 1
                if len(hits) < max_results:
                    hits.append(f"{rel}:{i}: {line.strip()[:200]}")
    note = " (searched as plain text: not a valid regular expression)" if literal else ""
    if not hits:
        return ToolOutcome(observation=f"no matches for {pattern!r}{note}", result={"matches": 0})
    more = f"\n… {total - len(hits)} more matches" if total > len(hits) else ""
    return ToolOutcome(observation="\n".join(hits) + more + (f"\n{note.strip()}" if note else ""),
                       result={"matches": total, "literal": literal})


def apply_patch(ws: Any, diff: str, denial: Callable[[str], str | None]) -> ToolOutcome:
    """Apply ``diff``; ``denial(rel)`` says why a path may not be edited (None = allowed)."""
    from cargogym.sandbox.patch import PatchError, apply_patch as _apply

    if not diff.strip():
        return ToolOutcome.fail("apply_patch: the diff is empty")
    denied: dict[str, str] = {}

    def may_edit(rel: str) -> bool:
        try:
            reason = denial(normalize_rel(rel))
        except PathError:
            return False  # apply_patch reports paths outside the crate itself
        if reason is not None:
            denied[rel] = reason
        return reason is None

    try:
        res = _apply(ws.path, diff, may_edit=may_edit)
    except PatchError as e:
        if denied:
            paths = ", ".join(sorted(denied))
            if "role" in denied.values():
                return ToolOutcome.fail(f"your role may not edit {paths}; nothing was changed",
                                        violation=True, result={"denied": denied})
            return ToolOutcome.fail(f"edit rejected: {paths} is outside the files you own; nothing was "
                                    "changed", conflict=True, result={"denied": denied})
        return ToolOutcome.fail(f"patch not applied (nothing was changed): {e}")
    edited = list(dict.fromkeys(res.files_changed + res.files_created + res.files_deleted))
    parts = []
    for label, files in (("changed", res.files_changed), ("created", res.files_created), ("deleted", res.files_deleted)):
        if files:
            parts.append(f"{label} {', '.join(files)}")
    return ToolOutcome(observation="patch applied: " + ("; ".join(parts) or "no files changed"),
                       result={"files_changed": list(res.files_changed), "files_created": list(res.files_created),
                               "files_deleted": list(res.files_deleted)},
                       edited=edited)


def _first_lines(text: str, n: int) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[:n])


def compiler_errors(stderr: str, limit: int = 40) -> str:
    """The ``error…`` blocks of cargo's stderr (what an agent needs to fix a build)."""
    out: list[str] = []
    keep = False
    for line in stderr.splitlines():
        if line.startswith("error") or line.startswith("warning: unused"):
            keep = line.startswith("error")
        if keep and line.strip():
            out.append(line)
        if len(out) >= limit:
            out.append("…")
            break
    return "\n".join(out) if out else _first_lines(stderr, limit)


def summarize_tests(run: Any, test_filter: str | None) -> tuple[str, dict[str, Any]]:
    """Compact observation and structured result of a ``CargoTestRun``."""
    ex = run.exec
    tests: dict[str, str] = dict(run.tests)
    counts = {s: sum(1 for v in tests.values() if v == s) for s in ("passed", "failed", "ignored")}
    log = (ex.stdout or "") + ("\n" if ex.stdout and ex.stderr else "") + (ex.stderr or "")
    result = {"tests": tests, "failures": dict(run.failures), "exit_code": ex.exit_code, "timed_out": ex.timed_out,
              "valid": run.valid, "problems": list(run.problems), "counts": counts, "filter": test_filter,
              "log": log[-LOG_LIMIT:]}
    scope = f" (filter {test_filter!r})" if test_filter else ""
    if ex.timed_out:
        return f"cargo test{scope}: timed out after {ex.duration:.0f} s", result
    build_errors = list(getattr(run, "build_errors", []) or [])
    if getattr(run, "build_ok", True) is False or (not tests and ex.exit_code not in (0, None)):
        errors = "\n\n".join(build_errors[:5]) if build_errors else compiler_errors(ex.stderr or "")
        more = f"\n… and {len(build_errors) - 5} more error(s)" if len(build_errors) > 5 else ""
        return f"cargo test{scope}: the crate failed to compile\n{errors}{more}", result
    head = f"cargo test{scope}: {counts['passed']} passed, {counts['failed']} failed, {counts['ignored']} ignored"
    if not tests:
        head += " (no tests matched)" if test_filter else " (no tests ran)"
    lines = [head]
    for name, status in tests.items():
        if status == "failed":
            panic = _first_lines(run.failures.get(name, ""), PANIC_LINES)
            lines.append(f"FAILED {name}" + (f"\n    " + panic.replace("\n", "\n    ") if panic else ""))
    for problem in run.problems:
        lines.append(f"note: {problem}")
    return "\n".join(lines), result


def run_tests(sandbox: Any, ws: Any, test_filter: str | None, timeout: float) -> ToolOutcome:
    from cargogym.sandbox.cargo import run_cargo_tests

    run = run_cargo_tests(sandbox, ws.path, test_filter=test_filter or None, timeout=timeout)
    obs, result = summarize_tests(run, test_filter)
    policy = grading_problems(ws)
    if policy:  # the same verdict grading will give (rewards/protect.py), told at once
        result["grading_problems"] = policy
        obs += "\n" + "\n".join(f"note: grading will give no credit: {p}" for p in policy[:5])
    return ToolOutcome(observation=obs, result=result)


def grading_problems(ws: Any) -> list[str]:
    """What grading would reject in the workspace's current changes (code policy, restored test
    modules; :func:`cargogym.rewards.protect.graded_changes`); [] when the workspace cannot say."""
    from cargogym.rewards.protect import graded_changes

    if not (callable(getattr(ws, "snapshot", None)) and callable(getattr(ws, "start_files", None))):
        return []
    return graded_changes(ws.snapshot(), ws.start_files()).tampering


def cargo_check(sandbox: Any, ws: Any, timeout: float) -> ToolOutcome:
    from cargogym.sandbox.cargo import run_cargo_check

    run = run_cargo_check(sandbox, ws.path, timeout=timeout)
    ex = run.exec
    result = {"ok": run.ok, "errors": list(run.errors), "exit_code": ex.exit_code, "timed_out": ex.timed_out,
              "log": (ex.stderr or "")[-LOG_LIMIT:]}
    if ex.timed_out:
        return ToolOutcome(observation=f"cargo check: timed out after {ex.duration:.0f} s", result=result)
    if run.ok:
        return ToolOutcome(observation="cargo check: ok", result=result)
    errors = "\n\n".join(run.errors) if run.errors else compiler_errors(ex.stderr or "")
    n = len(run.errors) or errors.count("\nerror") + errors.startswith("error")
    return ToolOutcome(observation=f"cargo check: {n} error(s)\n{errors}", result=result)
