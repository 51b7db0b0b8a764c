"""Run a crate's tests and read libtest's JSON output per test binary, distrustfully.

How a run works (:func:`run_tests`):

1. ``cargo test --no-run --message-format=json`` builds every test target; its
   ``compiler-artifact`` messages name each test executable and its target (lib, tests/x.rs, bin),
   so attribution never depends on interleaved stderr.
2. Each executable runs **on its own** in the sandbox with
   ``-Z unstable-options --format json --report-time`` (``RUSTC_BOOTSTRAP=1`` at run time only, so
   build fingerprints are untouched) and ``--logfile``: its exit status, its JSON stream and the
   log file libtest writes per finished test are three channels to cross-check.
3. Doc-tests, when the lib target has them, run with ``cargo test --doc`` (one stream).

A binary's results count (``valid``) only if its stream reached exactly one suite summary, the
summary agrees with the per-test events and with ``test_count``, no test has two results, the
exit status matches (0 iff nothing failed, 101 otherwise) and the log file agrees with the events.
Library code runs inside the test process and can print fake result lines or
``std::process::exit(0)``; such runs fail these checks. Names are qualified by binary:
``lib::<path>``, ``test:<file stem>::<path>``, ``bin:<name>::<path>``, ``doc::<libtest name>``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cargogym.sandbox.exec import ExecResult, Sandbox, toolchain

STATUSES = ("passed", "failed", "ignored")
_EVENT_STATUS = {"ok": "passed", "failed": "failed", "ignored": "ignored", "timeout": None}
LIBTEST_ARGS = ["-Z", "unstable-options", "--format", "json", "--report-time"]
_LOGFILE_SUPPORTED = True
MAX_FAILURE_LINES = 8
MAX_FAILURE_CHARS = 800


# -- pure parsing --------------------------------------------------------------------------------
def qualify(target_kind: str, target_name: str, test_name: str) -> str:
    """Qualified test name: ``lib::a::b``, ``test:stem::a``, ``bin:name::a``, ``doc::...``."""
    if target_kind == "lib":
        return f"lib::{test_name}"
    if target_kind == "doc":
        return f"doc::{test_name}"
    return f"{target_kind}:{target_name}::{test_name}"


def target_label(kinds: list[str], name: str) -> tuple[str, str]:
    """Map cargo's ``target.kind`` list to (label kind, name): lib/test/bin/bench/example."""
    kind = kinds[0] if kinds else "lib"
    if kind in ("lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"):
        return "lib", name
    return kind, name


def failure_excerpt(stdout: str) -> str:
    """First lines of a failed test's captured output (the panic message), without noise."""
    keep: list[str] = []
    for line in stdout.splitlines():
        s = line.rstrip()
        if not s and not keep:
            continue
        if s.startswith("note: run with `RUST_BACKTRACE") or s.startswith("stack backtrace:"):
            if s.startswith("stack backtrace:"):
                break
            continue
        keep.append(s)
        if len(keep) >= MAX_FAILURE_LINES:
            break
    text = "\n".join(keep).strip()
    return text[:MAX_FAILURE_CHARS]


@dataclass
class StreamResult:
    """What one libtest JSON stream says, plus everything suspicious about it."""

    tests: dict[str, str] = field(default_factory=dict)        # libtest name -> status
    failures: dict[str, str] = field(default_factory=dict)     # libtest name -> panic excerpt
    started: list[str] = field(default_factory=list)
    test_count: int | None = None
    summary: dict[str, Any] | None = None
    reached_summary: bool = False
    problems: list[str] = field(default_factory=list)
    noise_lines: int = 0


def parse_stream(stdout: str) -> StreamResult:
    """Parse one libtest ``--format json`` stream (non-JSON lines are counted as noise)."""
    res = StreamResult()
    suites_started = 0
    summaries = 0
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("{"):
            res.noise_lines += 1
            continue
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            res.noise_lines += 1
            continue
        if not isinstance(ev, dict):
            res.noise_lines += 1
            continue
        kind, event = ev.get("type"), ev.get("event")
        if kind == "suite":
            if event == "started":
                suites_started += 1
                if suites_started == 1:
                    res.test_count = ev.get("test_count") if isinstance(ev.get("test_count"), int) else None
                else:
                    res.problems.append("more than one 'suite started' event")
            elif event in ("ok", "failed"):
                summaries += 1
                if summaries == 1:
                    res.summary = {k: ev.get(k) for k in ("passed", "failed", "ignored", "measured",
                                                           "filtered_out", "exec_time")}
                    res.summary["event"] = event
                else:
                    res.problems.append("more than one suite summary")
            continue
        if kind not in ("test", "bench"):
            continue
        name = ev.get("name")
        if not isinstance(name, str):
            res.problems.append("test event without a name")
            continue
        if summaries:
            res.problems.append(f"test event for {name!r} after the suite summary")
        if event == "started":
            if name in res.started:
                res.problems.append(f"test {name!r} started twice")
            res.started.append(name)
            continue
        if kind == "bench":
            status = "passed"
        else:
            status = _EVENT_STATUS.get(event, "")
        if status is None:  # 'timeout' warning: still running
            continue
        if not status:
            res.problems.append(f"unknown event {event!r} for {name!r}")
            continue
        if name in res.tests:
            res.problems.append(f"test {name!r} reported twice ({res.tests[name]} and {status})")
            if status == "failed" or res.tests[name] == "failed":
                res.tests[name] = "failed"
            continue
        res.tests[name] = status
        if status == "failed":
            res.failures[name] = failure_excerpt(str(ev.get("stdout") or ev.get("message") or ""))
    res.reached_summary = summaries >= 1
    if suites_started == 0:
        res.problems.append("no 'suite started' event")
    if res.reached_summary and res.summary is not None:
        counts = {s: sum(1 for v in res.tests.values() if v == s) for s in STATUSES}
        s = res.summary
        for key in STATUSES:
            want = s.get(key)
            got = counts[key]
            if isinstance(want, int) and want != got:
                res.problems.append(f"summary says {want} {key} but {got} test events say so")
        total = sum(v for v in (s.get("passed"), s.get("failed"), s.get("ignored"), s.get("measured"))
                    if isinstance(v, int))
        if res.test_count is not None and total != res.test_count:
            res.problems.append(f"summary covers {total} tests but the suite started with {res.test_count}")
        unfinished = [n for n in res.started if n not in res.tests]
        if unfinished:
            res.problems.append(f"{len(unfinished)} started test(s) without a result: {', '.join(unfinished[:3])}")
        if (s.get("event") == "ok") != (counts["failed"] == 0):
            res.problems.append(f"summary event {s.get('event')!r} disagrees with {counts['failed']} failed test(s)")
    return res


_LOG_TIME = re.compile(r" <[0-9.]+s>$")


def parse_logfile(text: str, names: set[str]) -> dict[str, str]:
    """Parse libtest's ``--logfile`` (``ok NAME <t>``, ``failed NAME``, ``ignored[: msg] NAME``).
    Names are matched against ``names`` (longest suffix wins); unknown lines map to themselves."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = _LOG_TIME.sub("", line.rstrip())
        if not line:
            continue
        word = line.split(" ", 1)[0].rstrip(":")
        status = {"ok": "passed", "failed": "failed", "ignored": "ignored"}.get(word, "passed")
        best = ""
        for n in names:
            if len(n) > len(best) and line.endswith(" " + n):
                best = n
        key = best or line
        if key in out:
            out[key] = "duplicate"
        else:
            out[key] = status
    return out


def check_exit(stream: StreamResult, exit_code: int | None) -> list[str]:
    """Problems with a binary's exit status given what its stream says (0 iff no failure)."""
    if exit_code is None:
        return ["timed out"]
    if exit_code < 0:
        return [f"killed by signal {-exit_code}"]
    if not stream.reached_summary:
        return [f"exited with status {exit_code} before its test summary"]
    failed = stream.summary and stream.summary.get("event") == "failed"
    if failed and exit_code != 101:
        return [f"tests failed but the binary exited with status {exit_code} (expected 101)"]
    if not failed and exit_code != 0:
        return [f"all tests passed per output but the binary exited with status {exit_code}"]
    return []


@dataclass
class BinaryRun:
    """One test binary (or the doc-test run) and what came of it."""

    target: str                      # "lib", "test:api", "bin:cli", "doc"
    executable: str | None
    exit_code: int | None = None
    timed_out: bool = False
    duration: float = 0.0
    reached_summary: bool = False
    summary: dict[str, Any] | None = None
    tests: dict[str, str] = field(default_factory=dict)       # qualified -> status
    failures: dict[str, str] = field(default_factory=dict)    # qualified -> excerpt
    problems: list[str] = field(default_factory=list)
    stderr_tail: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target, "executable": self.executable, "exit_code": self.exit_code,
            "timed_out": self.timed_out, "duration": self.duration,
            "reached_summary": self.reached_summary, "summary": self.summary,
            "tests": dict(self.tests), "failures": dict(self.failures),
            "problems": list(self.problems), "valid": self.valid,
        }


def binary_from_stream(target_kind: str, target_name: str, executable: str | None,
                       result: ExecResult, logfile_text: str | None = None) -> BinaryRun:
    """Combine one binary's stream, exit status and log file into a :class:`BinaryRun`."""
    stream = parse_stream(result.stdout)
    label = "lib" if target_kind == "lib" else ("doc" if target_kind == "doc" else f"{target_kind}:{target_name}")
    run = BinaryRun(target=label, executable=executable, exit_code=result.exit_code,
                    timed_out=result.timed_out, duration=result.duration,
                    reached_summary=stream.reached_summary, summary=stream.summary)
    q = lambda n: qualify(target_kind, target_name, n)  # noqa: E731
    run.tests = {q(n): s for n, s in stream.tests.items()}
    run.failures = {q(n): m for n, m in stream.failures.items()}
    # A test that started but never finished (crash, exit, timeout) failed.
    for n in stream.started:
        if n not in stream.tests:
            run.tests[q(n)] = "failed"
            run.failures.setdefault(q(n), "did not finish (the test binary " + (
                "timed out" if result.timed_out else "stopped before reporting it") + ")")
    problems = list(stream.problems)
    if result.truncated:
        problems.append("output truncated by the sandbox")
    problems += check_exit(stream, result.exit_code)
    if logfile_text is not None and stream.reached_summary:
        logged = parse_logfile(logfile_text, set(stream.tests))
        if logged != stream.tests:
            diff = sorted(set(logged.items()) ^ set(stream.tests.items()))[:3]
            problems.append(f"libtest log file disagrees with the JSON stream: {diff}")
    run.problems = list(dict.fromkeys(problems))
    run.stderr_tail = result.stderr[-2000:]
    return run


# -- build messages ------------------------------------------------------------------------------
@dataclass
class TestExecutable:
    kind: str            # lib | test | bin | bench | example
    name: str
    path: str
    cwd: str             # package root (cargo runs tests there)
    package: str = ""
    version: str = ""


@dataclass
class BuildInfo:
    executables: list[TestExecutable] = field(default_factory=list)
    doctest_lib: bool = False
    errors: list[str] = field(default_factory=list)     # rendered compiler errors
    warnings: int = 0
    package_root: str = ""
    package: str = ""


def cargo_messages(stdout: str):
    """The JSON objects of ``cargo --message-format=json`` output, one per line; other lines
    (rustc's own text, torn or foreign lines) are skipped. Pure."""
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(msg, dict):
            yield msg


def parse_build_messages(stdout: str) -> BuildInfo:
    """Read ``cargo test --no-run --message-format=json`` output."""
    info = BuildInfo()
    seen: set[str] = set()
    for msg in cargo_messages(stdout):
        reason = msg.get("reason")
        if reason == "compiler-artifact":
            target = msg.get("target") or {}
            kinds = target.get("kind") or []
            name = str(target.get("name", ""))
            manifest = msg.get("manifest_path") or ""
            pkg = str(msg.get("package_id", ""))
            kind, name = target_label(kinds, name)
            if kind == "lib" and target.get("doctest"):
                info.doctest_lib = True
            if manifest and not info.package_root:
                info.package_root = str(Path(manifest).parent)
            profile = msg.get("profile") or {}
            exe = msg.get("executable")
            if profile.get("test") and exe and exe not in seen:
                seen.add(exe)
                info.executables.append(TestExecutable(kind, name, exe, str(Path(manifest).parent) if manifest else "", pkg))
        elif reason == "compiler-message":
            m = msg.get("message") or {}
            level = m.get("level")
            if level in ("error", "error: internal compiler error"):
                rendered = m.get("rendered") or m.get("message") or ""
                if not str(rendered).startswith("error: aborting due to"):
                    info.errors.append(str(rendered).strip())
            elif level == "warning":
                info.warnings += 1
    return info


# -- running -------------------------------------------------------------------------------------
@dataclass
class TestRun:
    """All binaries of one ``run_tests``. ``valid`` is False when any binary's output cannot be
    trusted or the build failed; ``tests`` maps qualified names to passed/failed/ignored."""

    build: ExecResult
    build_ok: bool
    build_errors: list[str]
    binaries: list[BinaryRun]
    tests: dict[str, str]
    failures: dict[str, str]
    valid: bool
    problems: list[str]
    duration: float
    timed_out: bool = False
    warnings: int = 0

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for v in self.tests.values() if v == s) for s in STATUSES}

    @property
    def exec(self) -> ExecResult:
        """The run as one command result: stdout is :func:`render`'s text, exit code 0 only when
        everything built, passed and was trustworthy (101 when tests failed, cargo's otherwise)."""
        if self.timed_out:
            code = None
        elif not self.build_ok:
            code = self.build.exit_code
        else:
            code = 0 if self.valid and self.counts()["failed"] == 0 else 101
        truncated = self.build.truncated or any("truncated" in p for p in self.problems)
        stderr = self.build.stderr[-4000:]
        if self.build_errors:  # as plain cargo would show them (we build with JSON messages)
            stderr = "\n\n".join(self.build_errors[:10]) + "\n" + stderr
        return ExecResult(code, render(self), stderr, self.timed_out, self.duration, truncated)

    def to_dict(self) -> dict[str, Any]:
        return {
            "build_ok": self.build_ok, "build_errors": list(self.build_errors),
            "binaries": [b.to_dict() for b in self.binaries], "tests": dict(self.tests),
            "failures": dict(self.failures), "valid": self.valid, "problems": list(self.problems),
            "duration": self.duration, "timed_out": self.timed_out, "warnings": self.warnings,
        }


def _remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def _runtime_env(exe: TestExecutable) -> dict[str, str]:
    pkg_name, version = "", ""
    m = re.search(r"#(?:([\w-]+)@)?([0-9][^\s)]*)$", exe.package)
    if m:
        pkg_name = m.group(1) or Path(exe.cwd).name
        version = m.group(2)
    env = {"RUSTC_BOOTSTRAP": "1", "CARGO_MANIFEST_DIR": exe.cwd, "RUST_BACKTRACE": "0"}
    if pkg_name:
        env["CARGO_PKG_NAME"] = pkg_name
        env["CARGO_CRATE_NAME"] = pkg_name.replace("-", "_")
    if version:
        env["CARGO_PKG_VERSION"] = version
    return env


def build_tests(sandbox: Sandbox, crate_dir: str | Path, timeout: float = 120.0) -> tuple[ExecResult, BuildInfo]:
    """``cargo test --no-run`` in the sandbox; returns the exec result and parsed artifacts."""
    argv = [toolchain()["cargo"], "test", "--offline", "--no-run", "--no-fail-fast",
            "--message-format=json"]
    res = sandbox.run(argv, cwd=crate_dir, timeout=timeout)
    info = parse_build_messages(res.stdout)
    if not info.package_root:
        info.package_root = str(crate_dir)
    if res.exit_code != 0 and not info.errors:
        tail = [ln for ln in res.stderr.splitlines() if ln.strip()]
        info.errors.append("\n".join(tail[-15:]) or f"cargo exited with status {res.exit_code}")
    return res, info


def run_binary(sandbox: Sandbox, exe: TestExecutable, timeout: float,
               test_filter: str | None = None, extra_args: list[str] | None = None) -> BinaryRun:
    """Run one test executable in the sandbox and check its output (see module docstring)."""
    global _LOGFILE_SUPPORTED
    log_dir = Path(exe.path).parent.parent / "cargogym-logs"
    logfile: Path | None = None
    args = [exe.path, *LIBTEST_ARGS]
    if _LOGFILE_SUPPORTED:
        try:
            log_dir.mkdir(exist_ok=True)
            logfile = log_dir / f"{Path(exe.path).name}-{secrets.token_hex(8)}.log"
            args += ["--logfile", str(logfile)]
        except OSError:
            logfile = None
    if test_filter:
        args.append(test_filter)
    args += extra_args or []
    res = sandbox.run(args, cwd=exe.cwd or ".", timeout=max(1.0, timeout), env=_runtime_env(exe))
    if logfile is not None and "logfile" in res.stderr and "Unrecognized option" in res.stderr:
        _LOGFILE_SUPPORTED = False  # a future libtest without --logfile: run without it
        return run_binary(sandbox, exe, timeout, test_filter, extra_args)
    log_text: str | None = None
    if logfile is not None:
        try:
            log_text = logfile.read_text(errors="replace")
        except OSError:
            log_text = "" if res.exit_code is not None else None
        finally:
            try:
                logfile.unlink()
            except OSError:
                pass
    return binary_from_stream(exe.kind, exe.name, exe.path, res, log_text)


def run_doctests(sandbox: Sandbox, crate_dir: str | Path, timeout: float,
                 test_filter: str | None = None) -> BinaryRun:
    argv = [toolchain()["cargo"], "test", "--offline", "--doc", "--", *LIBTEST_ARGS]
    if test_filter:
        argv.append(test_filter)
    res = sandbox.run(argv, cwd=crate_dir, timeout=max(1.0, timeout), env={"RUSTC_BOOTSTRAP": "1"})
    return binary_from_stream("doc", "doc", None, res, None)


def run_tests(sandbox: Sandbox, crate_dir: str | Path, test_filter: str | None = None,
              timeout: float = 120.0, doc: bool | None = None) -> TestRun:
    """Build and run every test binary of the crate at ``crate_dir``; ``doc=None`` runs doc-tests
    when the lib target has them enabled. ``timeout`` bounds the whole call."""
    start = time.monotonic()
    deadline = start + timeout
    build, info = build_tests(sandbox, crate_dir, timeout=timeout)
    binaries: list[BinaryRun] = []
    problems: list[str] = []
    build_ok = build.exit_code == 0 and not build.timed_out
    if build.timed_out:
        problems.append(f"build timed out after {timeout:.0f}s")
    elif not build_ok:
        problems.append("build failed")
    # With --no-fail-fast a failing test target does not stop the others; run what was built.
    order = {"lib": 0, "bin": 1, "test": 2}
    for exe in sorted(info.executables, key=lambda e: (order.get(e.kind, 3), e.name)):
        left = _remaining(deadline)
        if left <= 0.5:
            problems.append(f"{exe.kind}:{exe.name}: not run (time budget exhausted)")
            binaries.append(BinaryRun(target=f"{exe.kind}:{exe.name}" if exe.kind != "lib" else "lib",
                                      executable=exe.path, timed_out=True,
                                      problems=["not run: time budget exhausted"]))
            continue
        binaries.append(run_binary(sandbox, exe, left, test_filter))
    want_doc = info.doctest_lib if doc is None else doc
    if want_doc and build_ok and _remaining(deadline) > 0.5:
        binaries.append(run_doctests(sandbox, info.package_root or crate_dir, _remaining(deadline), test_filter))
    tests: dict[str, str] = {}
    failures: dict[str, str] = {}
    for b in binaries:
        tests.update(b.tests)
        failures.update(b.failures)
        problems += [f"{b.target}: {p}" for p in b.problems]
    timed_out = build.timed_out or any(b.timed_out for b in binaries)
    return TestRun(
        build=build, build_ok=build_ok, build_errors=info.errors, binaries=binaries,
        tests=tests, failures=failures, valid=build_ok and not problems, problems=problems,
        duration=time.monotonic() - start, timed_out=timed_out, warnings=info.warnings,
    )


def render(run: TestRun, max_failures: int = 10, max_chars: int = 6000) -> str:
    """A compact, cargo-like text of a run for the agent's observation."""
    lines: list[str] = []
    if not run.build_ok:
        lines.append("error: the crate failed to compile")
        for err in run.build_errors[:5]:
            lines.append(err)
        if len(run.build_errors) > 5:
            lines.append(f"... and {len(run.build_errors) - 5} more error(s)")
    c = run.counts()
    if run.tests or run.build_ok:
        lines.append(f"test result: {c['passed']} passed; {c['failed']} failed; {c['ignored']} ignored "
                     f"({len(run.binaries)} test binaries, {run.duration:.2f}s)")
    for name in sorted(n for n, s in run.tests.items() if s == "failed")[:max_failures]:
        msg = run.failures.get(name, "")
        lines.append(f"---- {name} FAILED ----")
        if msg:
            lines.append(msg)
    nfail = c["failed"]
    if nfail > max_failures:
        lines.append(f"... and {nfail - max_failures} more failing test(s)")
    if run.problems and run.build_ok:
        lines.append("warning: test output could not be trusted: " + "; ".join(run.problems[:3]))
    text = "\n".join(lines)
    if len(text) > max_chars:
        text = text[: max_chars // 2] + "\n[...]\n" + text[-max_chars // 2:]
    return text
