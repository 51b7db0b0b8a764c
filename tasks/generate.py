"""Generate validated tasks of every family for a set of crates.

Per crate: enumerate candidate mutations (tree-sitter), order them deterministically for the seed,
validate them in parallel in pre-built worker copies (:class:`CrateValidator`) until each family's
quota is met, and build the task records. Identical patches are deduplicated. Every candidate's
fate is counted once per attempt (per crate / family / operator: candidates, kept, discard
reasons) for the summary: each build is one attempt of exactly one family, and a build whose
result was no longer needed when it finished (the family's quota was met) counts as
``abandoned``. A bug candidate whose test build fails is a ``build_failed`` single_bug attempt; the
compile_error family may reuse it, but only after its own ``cargo check`` fails (a second attempt,
counted under compile_error).

``generate(cfg)`` returns the tasks and the summary; writing them is the caller's job
(:func:`generate_to_file` writes the JSONL atomically only after everything succeeded).
"""

from __future__ import annotations

import hashlib
import random
import time
from contextlib import closing
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from cargogym.config import load_config
from cargogym.errors import CargogymError
from cargogym.tasks.corpus import builtin_crates, read_crate, resolve_crates
from cargogym.tasks.families import (Change, compile_error_task, implement_task, multi_bug_task, review_task,
                                     single_bug_task)
from cargogym.tasks.mutate import Mutation, check_mutation, find_mutations, order
from cargogym.tasks.record import FAMILIES, Task, content_hash, write_tasks
from cargogym.tasks.validate import (CrateValidator, Evaluation, Verdict, classify_bug, classify_clean,
                                     classify_compile)


@dataclass
class TaskGenConfig:
    """``configs/tasks.yaml``; every key can be overridden from the command line."""

    crates: str = "all"
    per_crate: int = 40
    families: list = field(default_factory=lambda: list(FAMILIES))
    family_weights: dict = field(default_factory=lambda: {
        "single_bug": 0.35, "multi_bug": 0.15, "implement": 0.15, "review": 0.2, "compile_error": 0.15})
    review_clean_fraction: float = 0.5
    seed: int = 0
    workers: int = 2
    max_candidates_per_family: int = 300
    multi_bug_min: int = 2
    multi_bug_max: int = 4
    test_timeout_min: float = 5.0
    test_timeout_factor: float = 10.0
    build_timeout: float = 240.0
    test_threads: int = 2
    mem_limit_mb: int = 2048
    cache_dir: str = ""


class GenerationError(CargogymError):
    pass


def load_taskgen_config(path: str | None = None, overrides: list[str] | None = None) -> TaskGenConfig:
    return load_config(TaskGenConfig, path or "tasks", overrides)


def family_quotas(per_crate: int, families: list[str], weights: dict[str, float]) -> dict[str, int]:
    """Split ``per_crate`` over ``families`` by weight (largest remainder; every family ≥ 1 when
    ``per_crate`` allows)."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise GenerationError(f"unknown task family {', '.join(unknown)}; expected some of {', '.join(FAMILIES)}")
    fams = [f for f in FAMILIES if f in families]
    if not fams or per_crate <= 0:
        return {f: 0 for f in fams}
    w = {f: max(float(weights.get(f, 1.0)), 0.0) for f in fams}
    total = sum(w.values()) or float(len(fams))
    raw = {f: per_crate * (w[f] or (total / len(fams))) / total for f in fams}
    q = {f: int(raw[f]) for f in fams}
    for f in sorted(fams, key=lambda f: (-(raw[f] - q[f]), fams.index(f)))[: per_crate - sum(q.values())]:
        q[f] += 1
    for f in fams:  # give every requested family at least one task, taken from the largest
        if q[f] == 0 and per_crate >= len(fams):
            donor = max(fams, key=lambda g: q[g])
            q[donor] -= 1
            q[f] += 1
    return q


# -- summary ---------------------------------------------------------------------------------------
PRE_BUILD_REASONS = ("invalid_edit", "duplicate", "too_few_files")  # discarded without a build


@dataclass
class Summary:
    """Per-attempt fates. ``kept`` means the change validated for the family it was tried for; a
    validated bug (``single_bug`` row) becomes a single_bug task, a buggy review task, or a part of
    multi_bug combinations (``tasks`` counts what was emitted). Every reason except
    :data:`PRE_BUILD_REASONS` stands for exactly one build, so ``builds`` equals their sum."""

    rows: Counter = field(default_factory=Counter)           # (crate, family, operator, reason) -> n
    tasks: Counter = field(default_factory=Counter)          # (crate, family) -> n
    quotas: dict = field(default_factory=dict)               # crate -> {family: n}
    seconds: dict = field(default_factory=dict)              # crate -> wall seconds
    builds: int = 0
    build_seconds: float = 0.0
    test_seconds: float = 0.0
    rechecked: int = 0                                       # failed bug builds re-tried by `cargo check`

    def count(self, crate: str, family: str, operator: str, reason: str) -> None:
        self.rows[(crate, family, operator, reason)] += 1

    def table(self, by: str) -> list[dict]:
        """Rows grouped by ``crate``, ``family`` or ``operator``: candidates, kept, reasons."""
        idx = {"crate": 0, "family": 1, "operator": 2}[by]
        groups: dict[str, Counter] = defaultdict(Counter)
        for key, n in self.rows.items():
            groups[key[idx]][key[3]] += n
        out = []
        for name in sorted(groups):
            c = groups[name]
            row = {by: name, "candidates": sum(c.values()), "kept": c.get("kept", 0),
                   "reasons": {r: n for r, n in sorted(c.items()) if r != "kept"}}
            if by in ("crate", "family"):
                row["tasks"] = sum(n for (cr, fam), n in self.tasks.items() if (cr if by == "crate" else fam) == name)
            out.append(row)
        return out

    def to_dict(self) -> dict:
        total_s = sum(self.seconds.values())
        n = sum(self.tasks.values())
        return {
            "tasks_total": n,
            "seconds": round(total_s, 2),
            "tasks_per_minute": round(60 * n / total_s, 2) if total_s else None,
            "builds": self.builds,
            "rechecked_bug_candidates": self.rechecked,
            "build_seconds": round(self.build_seconds, 2),
            "test_seconds": round(self.test_seconds, 2),
            "tasks": {c: {f: self.tasks[(c, f)] for f in FAMILIES if (c, f) in self.tasks}
                      for c in sorted({c for c, _ in self.tasks})},
            "quotas": self.quotas,
            "by_crate": self.table("crate"),
            "by_family": self.table("family"),
            "by_operator": self.table("operator"),
        }


# -- per-crate generation ------------------------------------------------------------------------
Progress = Callable[[str, dict], None]


class _CrateGen:
    def __init__(self, name: str, path: Path, cfg: TaskGenConfig, summary: Summary, progress: Progress | None,
                 seen_patches: set[str]):
        self.name, self.path, self.cfg, self.summary = name, path, cfg, summary
        self.progress = progress or (lambda kind, info: None)
        self.files = read_crate(path)
        self.crate_hash = content_hash(self.files)
        builtin = builtin_crates()
        # built-in crates are referenced by name, any other crate by its absolute folder
        self.repo = None if builtin.get(name) == path else str(Path(path).resolve())
        self.seen_patches = seen_patches
        self.seen_mutants: set[str] = set()
        self.tasks: list[Task] = []
        self.v: CrateValidator | None = None

    def emit(self, task: Task) -> bool:
        key = hashlib.sha256((task.setup_patch or (task.review or {}).get("diff", "")).encode()).hexdigest()
        if key in self.seen_patches:
            return False
        self.seen_patches.add(key)
        task.extra["crate_hash"] = self.crate_hash  # the pristine crate this task was made from
        task.extra["seed"] = self.cfg.seed
        self.tasks.append(task)
        self.summary.tasks[(self.name, task.family)] += 1
        self.progress("task", {"crate": self.name, "family": task.family})
        return True

    def _account(self, ev: Evaluation) -> None:
        self.summary.builds += 1
        self.summary.build_seconds += ev.build_seconds
        self.summary.test_seconds += ev.test_seconds

    # candidates -> jobs (lazily checked and deduplicated) ------------------------------------
    def _jobs(self, family: str, candidates: list[Mutation], mode: str, limit: int) -> Iterator[tuple]:
        n = 0
        for m in candidates:
            if n >= limit:
                return
            reason = check_mutation(self.files, m)
            if reason is not None:
                self.summary.count(self.name, family, m.operator, "invalid_edit")
                continue
            new_text = m.apply_text(self.files[m.file])
            key = hashlib.sha256(f"{m.file}\0{new_text}".encode()).hexdigest()
            if key in self.seen_mutants:
                self.summary.count(self.name, family, m.operator, "duplicate")
                continue
            self.seen_mutants.add(key)
            n += 1
            yield m, {m.file: new_text}, mode

    def _attempt(self, family: str, operator: str, reason: str, ev: Evaluation) -> None:
        """Account one build of ``family`` and its outcome."""
        self._account(ev)
        self.summary.count(self.name, family, operator, reason)
        self.progress("candidate", {"crate": self.name, "family": family, "reason": reason})

    def _abandoned(self, family: str) -> Callable[[object, Evaluation], None]:
        def on_abandoned(tag: object, ev: Evaluation) -> None:
            op = tag.operator if isinstance(tag, Mutation) else f"combined_{len(tag)}"  # type: ignore[arg-type]
            self._attempt(family, op, "abandoned", ev)
        return on_abandoned

    def _run(self, family: str, jobs: Iterator[tuple], rule: Callable[[dict, Evaluation], Verdict]
             ) -> Iterator[tuple[Mutation, Evaluation, Verdict]]:
        assert self.v is not None and self.v.baseline is not None
        with closing(self.v.imap(jobs, abandoned=self._abandoned(family))) as results:
            for m, ev in results:
                verdict = rule(self.v.baseline.tests, ev)
                self._attempt(family, m.operator, verdict.reason, ev)
                yield m, ev, verdict

    def _validate(self, family: str, candidates: list[Mutation], mode: str, limit: int,
                  rule: Callable[[dict, Evaluation], Verdict]) -> Iterator[tuple[Mutation, Evaluation, Verdict]]:
        return self._run(family, self._jobs(family, candidates, mode, limit), rule)

    def _recheck(self, leftovers: list[Mutation]) -> Iterator[tuple[Mutation, Evaluation, Verdict]]:
        """Bug candidates whose test build failed, each re-built with ``cargo check``."""
        def jobs() -> Iterator[tuple]:
            for m in leftovers:
                self.summary.rechecked += 1
                yield m, {m.file: m.apply_text(self.files[m.file])}, "check"
        return self._run("compile_error", jobs(), classify_compile)

    # families --------------------------------------------------------------------------------
    def run(self) -> list[Task]:
        cfg = self.cfg
        quotas = family_quotas(cfg.per_crate, list(cfg.families), dict(cfg.family_weights))
        self.summary.quotas[self.name] = quotas
        muts = find_mutations(self.files, check=False)
        pools = {intent: order([m for m in muts if m.intent == intent], cfg.seed, f"{self.name}:{intent}")
                 for intent in ("bug", "compile", "refactor", "implement")}
        n_review = quotas.get("review", 0)
        n_clean = round(n_review * cfg.review_clean_fraction)
        n_review_buggy = n_review - n_clean
        n_single, n_multi = quotas.get("single_bug", 0), quotas.get("multi_bug", 0)
        cache = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else None
        t0 = time.monotonic()
        with CrateValidator(self.name, self.files, workers=cfg.workers, cache_root=cache,
                            test_timeout_min=cfg.test_timeout_min, test_timeout_factor=cfg.test_timeout_factor,
                            build_timeout=cfg.build_timeout, mem_bytes=cfg.mem_limit_mb << 20,
                            test_threads=cfg.test_threads) as v:
            self.v = v
            self.progress("crate_ready", {"crate": self.name, "tests": len(v.baseline.tests)})
            leftovers: list[Mutation] = []  # bug candidates whose test build failed
            bugs: list[Change] = []
            # multi_bug combines bugs from the pool: give it room to pick distinct files and combos
            want_bugs = n_single + n_review_buggy + (max(2 * n_multi, 4) if n_multi else 0)
            if want_bugs:
                with closing(self._validate("single_bug", pools["bug"], "test", cfg.max_candidates_per_family,
                                            classify_bug)) as results:
                    for m, ev, verdict in results:
                        if verdict.ok:
                            bugs.append(Change([m], verdict, ev))
                        elif verdict.reason == "build_failed" and ev.errors:
                            leftovers.append(m)
                        if len(bugs) >= want_bugs:
                            break
            for change in bugs[:n_single]:
                self.emit(single_bug_task(self.name, self.files, change, v.baseline.tests, self.repo))
            for change in bugs[n_single:n_single + n_review_buggy]:
                self.emit(review_task(self.name, self.files, change, "buggy", v.baseline.tests, self.repo))
            if n_multi:
                self._multi(bugs, n_multi)
            if quotas.get("implement"):
                self._fill(quotas["implement"], self._validate("implement", pools["implement"], "test",
                                                               cfg.max_candidates_per_family, classify_bug),
                           lambda c: implement_task(self.name, self.files, c, v.baseline.tests, self.repo))
            if n_clean:
                self._fill(n_clean, self._validate("review", pools["refactor"], "test",
                                                   cfg.max_candidates_per_family, classify_clean),
                           lambda c: review_task(self.name, self.files, c, "clean", v.baseline.tests, self.repo))
            if quotas.get("compile_error"):
                self._compile(pools["compile"], leftovers, quotas["compile_error"])
        self.summary.seconds[self.name] = time.monotonic() - t0
        self.v = None
        return self.tasks

    def _fill(self, quota: int, results: Iterator[tuple[Mutation, Evaluation, Verdict]],
              make: Callable[[Change], Task]) -> None:
        """Emit tasks made from validated ``results`` until ``quota`` of them are new."""
        got = 0
        with closing(results):
            while got < quota:
                change = _next_kept(results)
                if change is None:
                    return
                if self.emit(make(change)):
                    got += 1

    def _compile(self, pool: list[Mutation], leftovers: list[Mutation], quota: int) -> None:
        """Alternate compile failures found among bug candidates (re-checked: they must fail
        ``cargo check``, not just the test build) with dedicated compile-error operators."""
        assert self.v is not None
        sources = [self._recheck(leftovers),
                   self._validate("compile_error", pool, "check", self.cfg.max_candidates_per_family,
                                  classify_compile)]
        got = turn = 0
        try:
            while got < quota and sources:
                src = sources[turn % len(sources)]
                change = _next_kept(src)
                if change is None:
                    sources.remove(src)
                    src.close()
                    continue
                turn += 1
                if self.emit(compile_error_task(self.name, self.files, change, self.v.baseline.tests, self.repo)):
                    got += 1
        finally:
            for src in sources:
                src.close()

    def _multi(self, bugs: list[Change], quota: int) -> None:
        """Combine 2–4 validated bugs from different files and validate them together."""
        assert self.v is not None and self.v.baseline is not None
        by_file: dict[str, list[Change]] = defaultdict(list)
        for b in bugs:
            by_file[b.mutations[0].file].append(b)
        files = sorted(by_file)
        if len(files) < 2:
            self.summary.count(self.name, "multi_bug", "combined", "too_few_files")
            return
        rng = random.Random(f"{self.cfg.seed}:{self.name}:multi")
        hi = min(self.cfg.multi_bug_max, len(files))
        lo = min(self.cfg.multi_bug_min, hi)

        def combos() -> Iterator[tuple]:
            seen: set[tuple] = set()
            for _ in range(quota * 6):
                k = rng.randint(lo, hi)
                parts = [rng.choice(by_file[f]) for f in sorted(rng.sample(files, k))]
                key = tuple(sorted(p.mutations[0].key for p in parts))
                if key in seen:
                    continue
                seen.add(key)
                changed: dict[str, str] = {}
                for p in parts:
                    changed.update({f: t for f, t in p.apply(self.files).items() if t != self.files.get(f)})
                yield parts, changed, "test"

        with closing(self.v.imap(combos(), abandoned=self._abandoned("multi_bug"))) as results:
            self._combine(results, quota)

    def _combine(self, results: Iterator[tuple], quota: int) -> None:
        assert self.v is not None and self.v.baseline is not None
        got = 0
        for parts, ev in results:
            verdict = classify_bug(self.v.baseline.tests, ev)
            if verdict.ok:
                f2p = set(verdict.fail_to_pass)
                if any(not f2p.intersection(p.verdict.fail_to_pass) for p in parts):
                    verdict = Verdict(False, "bug_masked")
            self._attempt("multi_bug", f"combined_{len(parts)}", verdict.reason, ev)
            if not verdict.ok:
                continue
            combined = Change([p.mutations[0] for p in parts], verdict, ev)
            if self.emit(multi_bug_task(self.name, self.files, parts, combined, self.v.baseline.tests, self.repo)):
                got += 1
                if got >= quota:
                    return


def _next_kept(results: Iterator[tuple[Mutation, Evaluation, Verdict]]) -> Change | None:
    """The next validated change from ``results`` (None when they run out)."""
    for m, ev, verdict in results:
        if verdict.ok:
            return Change([m], verdict, ev)
    return None


def generate(cfg: TaskGenConfig, progress: Progress | None = None) -> tuple[list[Task], Summary]:
    """Tasks for every crate of ``cfg.crates`` (in name order) and the summary of the run."""
    crates = resolve_crates(cfg.crates)
    summary = Summary()
    tasks: list[Task] = []
    seen: set[str] = set()
    for name, path in crates.items():
        progress and progress("crate_start", {"crate": name})
        tasks += _CrateGen(name, path, cfg, summary, progress, seen).run()
        progress and progress("crate_done", {"crate": name})
    return tasks, summary


def generate_to_file(cfg: TaskGenConfig, out: str | Path, progress: Progress | None = None) -> tuple[list[Task], Summary]:
    """:func:`generate`, then write the JSONL atomically (nothing is written on any error)."""
    tasks, summary = generate(cfg, progress)
    write_tasks(out, tasks)
    return tasks, summary
