"""Generate validated tasks of every family for a set of crates.

Per crate: enumerate candidate mutations (tree-sitter), order them deterministically for the seed,
validate them in parallel in pre-built worker copies (:class:`CrateValidator`) until each family's
quota is met, and build the task records. Identical patches are deduplicated. Every candidate's
fate is counted (per crate / family / operator: candidates, kept, discard reasons) for the summary.

``generate(cfg)`` returns the tasks and the summary; writing them is the caller's job
(:func:`generate_to_file` writes the JSONL atomically only after everything succeeded).
"""

from __future__ import annotations

import hashlib
import random
import time
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
@dataclass
class Summary:
    rows: Counter = field(default_factory=Counter)           # (crate, family, operator, reason) -> n
    tasks: Counter = field(default_factory=Counter)          # (crate, family) -> n
    quotas: dict = field(default_factory=dict)               # crate -> {family: n}
    seconds: dict = field(default_factory=dict)              # crate -> wall seconds
    builds: int = 0
    build_seconds: float = 0.0
    test_seconds: float = 0.0

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

    def _validate(self, family: str, candidates: list[Mutation], mode: str, limit: int,
                  rule: Callable[[dict, Evaluation], Verdict]) -> Iterator[tuple[Mutation, Evaluation, Verdict]]:
        assert self.v is not None and self.v.baseline is not None
        for m, ev in self.v.imap(self._jobs(family, candidates, mode, limit)):
            self._account(ev)
            verdict = rule(self.v.baseline.tests, ev)
            self.summary.count(self.name, family, m.operator, verdict.reason)
            self.progress("candidate", {"crate": self.name, "family": family, "reason": verdict.reason})
            yield m, ev, verdict

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
            byproducts: list[Change] = []
            bugs: list[Change] = []
            # multi_bug combines bugs from the pool: give it room to pick distinct files and combos
            want_bugs = n_single + n_review_buggy + (max(2 * n_multi, 4) if n_multi else 0)
            if want_bugs:
                for m, ev, verdict in self._validate("single_bug", pools["bug"], "test",
                                                     cfg.max_candidates_per_family, classify_bug):
                    if verdict.ok:
                        bugs.append(Change([m], verdict, ev))
                    elif verdict.reason == "build_failed":
                        cv = classify_compile(v.baseline.tests, ev)
                        if cv.ok:
                            byproducts.append(Change([m], cv, ev))
                    if len(bugs) >= want_bugs:
                        break
            for change in bugs[:n_single]:
                self.emit(single_bug_task(self.name, self.files, change, v.baseline.tests, self.repo))
            for change in bugs[n_single:n_single + n_review_buggy]:
                self.emit(review_task(self.name, self.files, change, "buggy", v.baseline.tests, self.repo))
            if n_multi:
                self._multi(bugs, n_multi)
            if quotas.get("implement"):
                got = 0
                for m, ev, verdict in self._validate("implement", pools["implement"], "test",
                                                     cfg.max_candidates_per_family, classify_bug):
                    change = Change([m], verdict, ev)
                    if verdict.ok and self.emit(implement_task(self.name, self.files, change, v.baseline.tests,
                                                               self.repo)):
                        got += 1
                        if got >= quotas["implement"]:
                            break
            if n_clean:
                got = 0
                for m, ev, verdict in self._validate("review", pools["refactor"], "test",
                                                     cfg.max_candidates_per_family, classify_clean):
                    change = Change([m], verdict, ev)
                    if verdict.ok and self.emit(review_task(self.name, self.files, change, "clean", v.baseline.tests,
                                                            self.repo)):
                        got += 1
                        if got >= n_clean:
                            break
            if quotas.get("compile_error"):
                self._compile(pools["compile"], byproducts, quotas["compile_error"])
        self.summary.seconds[self.name] = time.monotonic() - t0
        self.v = None
        return self.tasks

    def _compile(self, pool: list[Mutation], byproducts: list[Change], quota: int) -> None:
        """Alternate dedicated compile-error operators with compile failures found among bug candidates."""
        assert self.v is not None
        got = 0
        take_byproduct = True
        dedicated = self._validate("compile_error", pool, "check", self.cfg.max_candidates_per_family,
                                   classify_compile)
        byproducts = list(byproducts)
        while got < quota:
            change = None
            if take_byproduct and byproducts:
                change = byproducts.pop(0)
                self.summary.count(self.name, "compile_error", change.mutations[0].operator, "kept")
            else:
                for m, ev, verdict in dedicated:
                    if verdict.ok:
                        change = Change([m], verdict, ev)
                        break
                if change is None and byproducts:
                    change = byproducts.pop(0)
                    self.summary.count(self.name, "compile_error", change.mutations[0].operator, "kept")
            if change is None:
                break
            take_byproduct = not take_byproduct
            if self.emit(compile_error_task(self.name, self.files, change, self.v.baseline.tests, self.repo)):
                got += 1
        dedicated.close()

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

        got = 0
        for parts, ev in self.v.imap(combos()):
            self._account(ev)
            verdict = classify_bug(self.v.baseline.tests, ev)
            if verdict.ok:
                f2p = set(verdict.fail_to_pass)
                if any(not f2p.intersection(p.verdict.fail_to_pass) for p in parts):
                    verdict = Verdict(False, "bug_masked")
            self.summary.count(self.name, "multi_bug", f"combined_{len(parts)}", verdict.reason)
            self.progress("candidate", {"crate": self.name, "family": "multi_bug", "reason": verdict.reason})
            if not verdict.ok:
                continue
            combined = Change([p.mutations[0] for p in parts], verdict, ev)
            if self.emit(multi_bug_task(self.name, self.files, parts, combined, self.v.baseline.tests, self.repo)):
                got += 1
                if got >= quota:
                    break


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
