"""Validate candidate changes of a crate by building and testing them, as SWE-smith does.

Rules (pure functions, :func:`classify_bug` / :func:`classify_compile` / :func:`classify_clean`):

- a **bug** (single_bug, multi_bug, implement, buggy review) builds (``cargo test --no-run --tests``),
  makes ≥ 1 test that passed before fail (FAIL_TO_PASS), and leaves ≥ 1 passing (PASS_TO_PASS);
  a test missing after the change counts as failed; timeouts/hangs are discarded;
- a **compile error** fails ``cargo check`` (library and binaries — what the environment's
  ``compile_ok`` and ``cargo_check`` tool run) with at least one rustc error; a change whose test
  build fails but whose ``cargo check`` passes is not one;
- a **clean** refactor builds and every test that passed before still passes.

Speed: a :class:`CrateValidator` keeps one pre-built *seed* copy of the crate (source + target/)
under a cache folder, keyed by the crate's content hash, and clones it into one private slot per
worker. Each candidate is written into a slot, built incrementally, run, and the slot's files are
restored; workers run in parallel (one cargo job each), so no mutant ever pays a cold build.
"""

from __future__ import annotations

import fcntl
import os
import queue
import shutil
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from cargogym.errors import CargogymError, require_cargo
from cargogym.tasks.cargo_runner import PASSED, BuildResult, TestBinary, build_tests, cargo_env, run_tests
from cargogym.tasks.record import content_hash


class CrateError(CargogymError):
    """A crate that cannot serve as a task base: it does not build, has no tests, or fails its own tests."""


def default_cache_root() -> Path:
    env = os.environ.get("CARGOGYM_TASKGEN_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cargogym" / "taskgen"


@dataclass
class Evaluation:
    """What one build (+ test run) of a changed crate showed."""

    mode: str                                   # "test" | "check"
    build_ok: bool
    errors: list[str] = field(default_factory=list)
    tests: dict[str, str] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False
    crashed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    build_seconds: float = 0.0
    test_seconds: float = 0.0


@dataclass
class Verdict:
    ok: bool
    reason: str                                 # "kept" or the discard reason
    fail_to_pass: list[str] = field(default_factory=list)
    pass_to_pass: list[str] = field(default_factory=list)


@dataclass
class Baseline:
    crate: str
    files: dict[str, str]
    tests: dict[str, str]
    binaries: list[TestBinary]
    build_seconds: float
    test_seconds: float
    binary_seconds: dict[str, float]

    @property
    def passing(self) -> list[str]:
        return sorted(t for t, s in self.tests.items() if s == PASSED)


# -- rules (pure) --------------------------------------------------------------------------------
def classify_bug(baseline_tests: dict[str, str], ev: Evaluation) -> Verdict:
    if ev.timed_out:
        return Verdict(False, "timeout")
    if not ev.build_ok:
        return Verdict(False, "build_failed")
    before = sorted(t for t, s in baseline_tests.items() if s == PASSED)
    f2p = [t for t in before if ev.tests.get(t) != PASSED]
    p2p = [t for t in before if ev.tests.get(t) == PASSED]
    if not f2p:
        return Verdict(False, "no_failing_test", [], p2p)
    if not p2p:
        return Verdict(False, "no_passing_test", f2p, [])
    return Verdict(True, "kept", f2p, p2p)


def classify_compile(baseline_tests: dict[str, str], ev: Evaluation) -> Verdict:
    if ev.timed_out:
        return Verdict(False, "timeout")
    if ev.build_ok:
        return Verdict(False, "compiles")
    if not ev.errors:
        return Verdict(False, "build_failed_without_rustc_error")
    before = sorted(t for t, s in baseline_tests.items() if s == PASSED)
    return Verdict(True, "kept", before, [])


def classify_clean(baseline_tests: dict[str, str], ev: Evaluation) -> Verdict:
    if ev.timed_out:
        return Verdict(False, "timeout")
    if not ev.build_ok:
        return Verdict(False, "build_failed")
    before = sorted(t for t, s in baseline_tests.items() if s == PASSED)
    broken = [t for t in before if ev.tests.get(t) != PASSED]
    if broken:
        return Verdict(False, "breaks_tests", broken, [])
    return Verdict(True, "kept", [], before)


# -- slots ---------------------------------------------------------------------------------------
def _write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def _sync_sources(root: Path, files: dict[str, str]) -> None:
    """Make ``root``'s sources exactly ``files`` (rewrite differing files, drop stray ``.rs``)."""
    for rel, text in files.items():
        p = root / rel
        if not p.is_file() or p.read_text(encoding="utf-8", errors="replace") != text:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text, encoding="utf-8")
    for d in ("src", "tests", "benches", "examples"):
        base = root / d
        if base.is_dir():
            for f in base.rglob("*.rs"):
                if f.relative_to(root).as_posix() not in files:
                    f.unlink()


class _Slot:
    """A private, locked, pre-built copy of the crate."""

    def __init__(self, path: Path, lock_fh, env: dict[str, str]):
        self.path = path
        self.crate_dir = path / "crate"
        self._lock_fh = lock_fh
        self.env = env

    def release(self) -> None:
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
        finally:
            self._lock_fh.close()


def _try_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fh
    except BlockingIOError:
        fh.close()
        return None


class CrateValidator:
    """Pre-built worker copies of one crate and a parallel, ordered evaluation of changes.

    Use as a context manager; :meth:`baseline` is measured on entry (raises :class:`CrateError`
    for a crate that does not build, has no tests, or fails its own tests).
    """

    def __init__(self, name: str, files: dict[str, str], workers: int = 2,
                 cache_root: Path | None = None, test_timeout_min: float = 10.0,
                 test_timeout_factor: float = 10.0, build_timeout: float = 240.0,
                 mem_bytes: int = 2 << 30, test_threads: int = 2):
        self.name = name
        self.files = dict(files)
        self.workers = max(1, workers)
        self.cache_root = Path(cache_root) if cache_root else default_cache_root()
        self.test_timeout_min = test_timeout_min
        self.test_timeout_factor = test_timeout_factor
        self.build_timeout = build_timeout
        self.mem_bytes = mem_bytes
        self.test_threads = test_threads
        self.key = f"{name}-{content_hash(self.files)[:12]}"
        self.root = self.cache_root / self.key
        self._slots: list[_Slot] = []
        self._free: queue.Queue[_Slot] = queue.Queue()
        self._pool: ThreadPoolExecutor | None = None
        self.baseline: Baseline | None = None
        self.test_timeout = test_timeout_min

    # -- setup ---------------------------------------------------------------------------------
    def __enter__(self) -> "CrateValidator":
        require_cargo()
        try:
            self._seed()
            for i in range(self.workers):
                self._slots.append(self._acquire_slot(i))
            for s in self._slots:
                self._free.put(s)
            self._prune_stale()
            self.baseline = self._measure_baseline(self._slots[0])
            self.test_timeout = max(self.test_timeout_min,
                                    self.test_timeout_factor * max(self.baseline.test_seconds, 0.1))
            self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f"validate-{self.name}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        for s in self._slots:
            try:
                _sync_sources(s.crate_dir, self.files)
            except OSError:
                pass
            s.release()
        self._slots = []

    def _prune_stale(self) -> None:
        """Remove this crate's copies for older contents (best effort; skipped while in use)."""
        for old in self.cache_root.glob(f"{self.name}-*"):
            if old == self.root or not old.is_dir() or not old.name[len(self.name) + 1:].isalnum():
                continue
            locks = []
            try:
                for lf in sorted(old.glob("*.lock")):
                    fh = _try_lock(lf)
                    if fh is None:
                        break
                    locks.append(fh)
                else:
                    shutil.rmtree(old, ignore_errors=True)
            finally:
                for fh in locks:
                    fh.close()

    def _seed(self) -> Path:
        """Build the seed copy once (under a lock); later runs reuse it."""
        seed = self.root / "seed"
        done = seed / ".built"
        if done.is_file():
            return seed
        self.root.mkdir(parents=True, exist_ok=True)
        lock = open(self.root / "seed.lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.is_file():
                return seed
            shutil.rmtree(seed, ignore_errors=True)
            crate = seed / "crate"
            _write_files(crate, self.files)
            env = cargo_env(crate / "target", seed / "cargo-home", jobs=os.cpu_count() or 2)
            build = build_tests(crate, env, timeout=max(self.build_timeout, 600.0))
            if not build.ok:
                raise CrateError(self._build_failure(build, "does not build"))
            check = build_tests(crate, env, timeout=max(self.build_timeout, 600.0), check_only=True)
            if not check.ok:
                raise CrateError(self._build_failure(check, "does not pass cargo check"))
            done.write_text("ok\n")
            return seed
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()

    def _build_failure(self, build: BuildResult, what: str) -> str:
        if build.timed_out:
            return f"crate {self.name!r} {what}: the build timed out"
        first = (build.errors[0] if build.errors else build.stderr.strip()[-1500:]).strip()
        return f"crate {self.name!r} {what}:\n{first}"

    def _acquire_slot(self, index: int) -> _Slot:
        i = index
        while True:
            path = self.root / f"slot{i}"
            fh = _try_lock(self.root / f"slot{i}.lock")
            if fh is not None:
                break
            i += self.workers  # taken by another process: use a further slot
        try:
            if not (path / ".ready").is_file():
                shutil.rmtree(path, ignore_errors=True)
                tmp = self.root / f".slot{i}.tmp"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(self.root / "seed" / "crate", tmp / "crate", symlinks=True)
                (tmp / ".ready").write_text("ok\n")
                os.replace(tmp, path)
            crate = path / "crate"
            _sync_sources(crate, self.files)
            env = cargo_env(crate / "target", path / "cargo-home", jobs=1)
            return _Slot(path, fh, env)
        except BaseException:
            fh.close()
            raise

    def _measure_baseline(self, slot: _Slot) -> Baseline:
        build = build_tests(slot.crate_dir, slot.env, timeout=self.build_timeout)
        if not build.ok:
            raise CrateError(self._build_failure(build, "does not build"))
        run = run_tests(build.binaries, slot.crate_dir, slot.env, timeout=max(60.0, self.test_timeout_min),
                        mem_bytes=self.mem_bytes, threads=self.test_threads)
        if run.timed_out:
            raise CrateError(f"crate {self.name!r}: its tests time out (> {max(60.0, self.test_timeout_min):.0f} s)")
        if not run.passed:
            raise CrateError(f"crate {self.name!r} has no tests (cargo test --tests ran none)")
        failing = sorted(run.failed)
        if failing or run.crashed:
            shown = ", ".join(failing[:10]) + (f" (+{len(failing) - 10} more)" if len(failing) > 10 else "")
            detail = ""
            if failing and run.failures.get(failing[0]):
                detail = f"\n{failing[0]}: " + run.failures[failing[0]].splitlines()[0]
            raise CrateError(f"crate {self.name!r} fails its own tests: {shown or ', '.join(run.crashed)}{detail}")
        return Baseline(self.name, dict(self.files), dict(run.tests), build.binaries, build.duration,
                        run.duration, run.binary_seconds)

    # -- evaluation ------------------------------------------------------------------------------
    def _evaluate_in(self, slot: _Slot, changed: dict[str, str], mode: str) -> Evaluation:
        crate = slot.crate_dir
        try:
            _write_files(crate, changed)
            build = build_tests(crate, slot.env, timeout=self.build_timeout, check_only=(mode == "check"))
            ev = Evaluation(mode, build.ok, build.errors, timed_out=build.timed_out, build_seconds=build.duration)
            if build.ok and mode == "test":
                run = run_tests(build.binaries, crate, slot.env, timeout=self.test_timeout,
                                mem_bytes=self.mem_bytes, threads=self.test_threads)
                ev.tests, ev.failures, ev.timed_out = run.tests, run.failures, run.timed_out
                ev.crashed, ev.problems, ev.test_seconds = run.crashed, run.problems, run.duration
            return ev
        finally:
            _write_files(crate, {rel: self.files[rel] for rel in changed if rel in self.files})
            for rel in changed:
                if rel not in self.files:
                    (crate / rel).unlink(missing_ok=True)

    def evaluate(self, changed: dict[str, str], mode: str = "test") -> Evaluation:
        """Build (and for ``mode="test"`` run) the crate with ``changed`` files (rel → text)."""
        slot = self._free.get()
        try:
            return self._evaluate_in(slot, changed, mode)
        finally:
            self._free.put(slot)

    def imap(self, jobs: Iterable[tuple[object, dict[str, str], str]],
             abandoned: Callable[[object, Evaluation], None] | None = None) -> Iterator[tuple[object, Evaluation]]:
        """Evaluate ``(tag, changed, mode)`` jobs in parallel, yielding ``(tag, evaluation)`` in job
        order. Only ``workers`` jobs run ahead of the consumer; closing the iterator stops it, and
        each job that was already evaluated but never yielded goes to ``abandoned(tag, evaluation)``
        (so every build can be accounted for)."""
        assert self._pool is not None, "use CrateValidator as a context manager"
        pending: deque[tuple[object, Future]] = deque()
        it = iter(jobs)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.workers:
                    try:
                        tag, changed, mode = next(it)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.append((tag, self._pool.submit(self.evaluate, changed, mode)))
                if not pending:
                    return
                tag, fut = pending.popleft()
                yield tag, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()
            for tag, fut in pending:
                if not fut.cancelled() and fut.exception() is None:  # waits: the slot is restored
                    if abandoned is not None:
                        abandoned(tag, fut.result())

