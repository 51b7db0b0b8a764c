"""Build a crate's test binaries and run them, with per-test results (the generator's own runner).

The generator validates thousands of mutants, so it drives cargo directly and cheaply:

- ``cargo test --no-run --tests --message-format=json`` builds (incrementally) and names every test
  binary (lib unit tests, each ``tests/*.rs``); compiler errors come back as rendered diagnostics;
- each binary runs on its own, with a timeout and an address-space limit, under libtest's JSON
  output (``RUSTC_BOOTSTRAP=1 ... -Z unstable-options --format json``), so every test gets a
  status and failures keep the first lines of their panic;
- a binary that aborts (stack overflow, OOM) is re-run one test at a time past the crashing test,
  a bounded number of times, so the remaining tests still get a status.

Test names are qualified by binary: ``lib::<path>``, ``test:<file stem>::<path>``, ``bin:<name>::``.
Doc-tests are not run (``--tests`` selects lib, bins and integration tests).
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cargogym.rewards.libtest import parse_build_messages, parse_stream, qualify

PASSED, FAILED, IGNORED = "passed", "failed", "ignored"
_MAX_CRASH_ROUNDS = 10


@dataclass
class Proc:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float


def run_proc(argv: list[str], cwd: Path, env: dict[str, str], timeout: float,
             mem_bytes: int | None = None) -> Proc:
    """Run ``argv`` in its own process group; kill the group on timeout."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    if mem_bytes:
        try:
            resource.prlimit(p.pid, resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        except (OSError, ValueError):
            pass
    try:
        out, err = p.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        timed_out = True
    return Proc(None if timed_out else p.returncode, out.decode(errors="replace"),
                err.decode(errors="replace"), timed_out, time.monotonic() - t0)


def cargo_env(target_dir: Path, cargo_home: Path | None = None, jobs: int = 1) -> dict[str, str]:
    """Environment for fast, quiet, private incremental builds."""
    env = dict(os.environ)
    env.update({
        "CARGO_TARGET_DIR": str(target_dir),
        "CARGO_TERM_COLOR": "never",
        "CARGO_BUILD_JOBS": str(jobs),
        "CARGO_INCREMENTAL": "1",
        "CARGO_PROFILE_DEV_DEBUG": "0",
        "CARGO_PROFILE_TEST_DEBUG": "0",
        "RUSTC_BOOTSTRAP": "1",
        "RUST_BACKTRACE": "0",
    })
    for k in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_TARGET", "RUSTC_WRAPPER"):
        env.pop(k, None)
    if cargo_home is not None:
        # a private CARGO_HOME keeps our builds off the shared package-cache lock
        cargo_home.mkdir(parents=True, exist_ok=True)
        env["CARGO_HOME"] = str(cargo_home)
    return env


@dataclass
class TestBinary:
    kind: str        # "lib" | "test" | "bin"
    name: str        # target name (integration file stem for "test")
    executable: str

    @property
    def prefix(self) -> str:
        return "lib" if self.kind == "lib" else f"{self.kind}:{self.name}"

    def qualify(self, test: str) -> str:
        return qualify(self.kind, self.name, test)


@dataclass
class BuildResult:
    ok: bool
    binaries: list[TestBinary]
    errors: list[str]          # rendered compiler errors (level error)
    duration: float
    timed_out: bool = False
    stderr: str = ""


def build_tests(crate_dir: Path, env: dict[str, str], timeout: float = 300.0, check_only: bool = False) -> BuildResult:
    """``cargo test --no-run --tests`` (or, ``check_only``, plain ``cargo check``: library and
    binaries, as the environment's compile check) with JSON messages."""
    sub = ["check"] if check_only else ["test", "--no-run", "--tests"]
    proc = run_proc(["cargo", *sub, "--offline", "--message-format=json"], crate_dir, env, timeout)
    info = parse_build_messages(proc.stdout)
    binaries = [TestBinary(e.kind, e.name, e.path) for e in info.executables]
    finished_ok = False
    for line in proc.stdout.splitlines():
        if '"build-finished"' in line:
            try:
                finished_ok = bool(json.loads(line).get("success"))
            except (json.JSONDecodeError, AttributeError):
                pass
    errors = info.errors
    ok = finished_ok and proc.returncode == 0 and not proc.timed_out
    binaries.sort(key=lambda b: (b.kind != "lib", b.kind, b.name))
    return BuildResult(ok, binaries, [e for e in errors if e], proc.duration, proc.timed_out, proc.stderr[-4000:])


@dataclass
class TestRun:
    tests: dict[str, str] = field(default_factory=dict)       # qualified name -> passed|failed|ignored
    failures: dict[str, str] = field(default_factory=dict)    # qualified name -> first lines of output
    timed_out: bool = False
    crashed: list[str] = field(default_factory=list)          # binaries that aborted
    problems: list[str] = field(default_factory=list)
    duration: float = 0.0
    binary_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> set[str]:
        return {t for t, s in self.tests.items() if s == PASSED}

    @property
    def failed(self) -> set[str]:
        return {t for t, s in self.tests.items() if s == FAILED}


_THREAD_ID = re.compile(r"(thread '[^']*') \(\d+\)")


def _clean_excerpt(text: str) -> str:
    """libtest's failure excerpt without run-dependent thread ids (``thread 'x' (1234) panicked``)."""
    return _THREAD_ID.sub(r"\1", text)


def _parse_events(stdout: str) -> tuple[dict[str, str], dict[str, str], set[str], bool]:
    """Per-test statuses, failure excerpts, tests started but never finished, and whether the
    suite reached its summary (parsing by :func:`cargogym.rewards.libtest.parse_stream`)."""
    stream = parse_stream(stdout)
    failures = {n: _clean_excerpt(t) for n, t in stream.failures.items()}
    return dict(stream.tests), failures, set(stream.started) - set(stream.tests), stream.reached_summary


def run_binary(binary: TestBinary, cwd: Path, env: dict[str, str], timeout: float,
               mem_bytes: int | None = 2 << 30, threads: int = 2) -> TestRun:
    """Run one test binary; statuses are qualified with the binary's prefix."""
    run = TestRun()
    prefix = binary.prefix
    skip: list[str] = []
    single = False
    deadline = time.monotonic() + timeout
    rounds = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            run.timed_out = True
            break
        argv = [binary.executable, "-Z", "unstable-options", "--format", "json",
                f"--test-threads={1 if single else threads}"]
        if skip:
            argv.append("--exact")
            for s in skip:
                argv += ["--skip", s]
        proc = run_proc(argv, cwd, env, left, mem_bytes)
        run.duration += proc.duration
        statuses, failures, unfinished, finished = _parse_events(proc.stdout)
        for name, st in statuses.items():
            run.tests[binary.qualify(name)] = st
        for name, text in failures.items():
            run.failures[binary.qualify(name)] = text
        if proc.timed_out:
            run.timed_out = True
            break
        if finished and proc.returncode in (0, 101):
            break
        # the binary died before its summary (stack overflow, abort, OOM): when single-threaded the
        # one unfinished test is the culprit; re-run the rest, one at a time, past it
        if prefix not in run.crashed:
            run.crashed.append(prefix)
        rounds += 1
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-3:]
        blamed = unfinished if single and len(unfinished) == 1 else set()
        for name in blamed:
            run.tests[binary.qualify(name)] = FAILED
            run.failures[binary.qualify(name)] = "\n".join(tail)
        if rounds > _MAX_CRASH_ROUNDS or (single and not blamed):
            for name in unfinished - blamed:
                run.tests[binary.qualify(name)] = FAILED
                run.failures[binary.qualify(name)] = "\n".join(tail)
            run.problems.append(f"{prefix}: aborted ({tail[-1]})")
            break
        single = True
        skip = sorted({*skip, *statuses, *blamed})
    run.binary_seconds[prefix] = run.duration
    return run


def run_tests(binaries: list[TestBinary], cwd: Path, env: dict[str, str], timeout: float,
              mem_bytes: int | None = 2 << 30, threads: int = 2) -> TestRun:
    """Run every binary (sequentially); stops at the first timeout (the mutant is discarded)."""
    total = TestRun()
    for b in binaries:
        r = run_binary(b, cwd, env, timeout, mem_bytes, threads)
        total.tests.update(r.tests)
        total.failures.update(r.failures)
        total.crashed += r.crashed
        total.problems += r.problems
        total.duration += r.duration
        total.binary_seconds.update(r.binary_seconds)
        if r.timed_out:
            total.timed_out = True
            break
    return total
