"""cargo commands in a sandbox: tests (per binary, see ``rewards/libtest.py``), check, clippy.

All commands run ``--offline`` with the real toolchain's cargo (rustup proxy skipped) and the
sandbox's isolated CARGO_HOME; every one has a timeout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from cargogym.rewards.libtest import TestRun, cargo_messages, render, run_tests
from cargogym.sandbox.exec import ExecResult, Sandbox, toolchain

CargoTestRun = TestRun  # fields: exec, tests, failures, binaries, valid, problems (+ build info)


def run_cargo_tests(sandbox: Sandbox, ws_path: str | Path, test_filter: str | None = None,
                    timeout: float = 120, doc: bool | None = None) -> CargoTestRun:
    """Build and run all test binaries; see :func:`cargogym.rewards.libtest.run_tests`."""
    return run_tests(sandbox, ws_path, test_filter=test_filter, timeout=timeout, doc=doc)


def _diagnostics(stdout: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) rendered, from ``--message-format=json`` output."""
    errors: list[str] = []
    warnings: list[str] = []
    for msg in cargo_messages(stdout):
        if msg.get("reason") != "compiler-message":
            continue
        m = msg.get("message") or {}
        rendered = str(m.get("rendered") or m.get("message") or "").strip()
        if m.get("level", "").startswith("error"):
            if not rendered.startswith("error: aborting due to"):
                errors.append(rendered)
        elif m.get("level") == "warning":
            if not rendered.startswith("warning: ") or " generated " not in rendered.splitlines()[0]:
                warnings.append(rendered)
    return errors, warnings


def _with_rendered(res: ExecResult, diagnostics: list[str]) -> ExecResult:
    """``res`` with the rendered diagnostics in stderr, as plain (non-JSON) cargo prints them."""
    if not diagnostics:
        return res
    text = "\n\n".join(diagnostics[:20]) + "\n" + res.stderr
    return ExecResult(res.exit_code, res.stdout, text, res.timed_out, res.duration, res.truncated)


@dataclass
class CheckRun:
    ok: bool
    errors: list[str]
    exec: ExecResult
    warnings: int = 0


def run_cargo_check(sandbox: Sandbox, ws_path: str | Path, timeout: float = 120,
                    all_targets: bool = False) -> CheckRun:
    """``cargo check`` (lib and bins; ``all_targets`` adds tests): ok, rendered errors."""
    argv = [toolchain()["cargo"], "check", "--offline", "--message-format=json"]
    if all_targets:
        argv.append("--all-targets")
    res = sandbox.run(argv, cwd=ws_path, timeout=timeout)
    errors, warnings = _diagnostics(res.stdout)
    ok = res.exit_code == 0 and not res.timed_out
    if not ok and not errors:
        tail = [ln for ln in res.stderr.splitlines() if ln.strip()]
        errors = ["\n".join(tail[-15:]) or f"cargo check exited with status {res.exit_code}"]
    return CheckRun(ok=ok, errors=errors, exec=_with_rendered(res, errors + warnings), warnings=len(warnings))


@dataclass
class ClippyRun:
    available: bool
    warnings: int | None
    exec: ExecResult | None
    messages: list[str] = field(default_factory=list)
    note: str = ""


_CLIPPY: dict[str, bool] = {}
_CLIPPY_LOCK = threading.Lock()


def clippy_available(sandbox: Sandbox, ws_path: str | Path) -> bool:
    """Whether ``cargo clippy`` runs here (cached per sandbox kind)."""
    with _CLIPPY_LOCK:
        if sandbox.name not in _CLIPPY:
            res = sandbox.run([toolchain()["cargo"], "clippy", "--version"], cwd=ws_path, timeout=30)
            _CLIPPY[sandbox.name] = res.exit_code == 0
        return _CLIPPY[sandbox.name]


def run_clippy(sandbox: Sandbox, ws_path: str | Path, timeout: float = 120) -> ClippyRun:
    """``cargo clippy`` warning count (lib and bins) with clippy's default lints forced on
    (``--force-warn clippy::all``: an ``allow`` in the code cannot hide them); ``available=False``
    when not installed."""
    if not clippy_available(sandbox, ws_path):
        return ClippyRun(False, None, None, note="clippy is not installed (rustup component add clippy)")
    argv = [toolchain()["cargo"], "clippy", "--offline", "--message-format=json", "--", "--force-warn", "clippy::all"]
    res = sandbox.run(argv, cwd=ws_path, timeout=timeout)
    errors, warnings = _diagnostics(res.stdout)
    res = _with_rendered(res, errors + warnings)
    if res.exit_code != 0:
        return ClippyRun(True, None, res, errors[:5], note="clippy failed (the crate does not compile?)")
    return ClippyRun(True, len(warnings), res, warnings[:20])


__all__ = ["CargoTestRun", "CheckRun", "ClippyRun", "run_cargo_tests", "run_cargo_check",
           "run_clippy", "clippy_available", "render"]
