"""Memoised grading for RL loops that revisit the same crate states (opt-in, per process).

GRPO samples each task many times, and a constrained policy (choose one of K patches) produces
only K distinct crates per task. Grading is a pure function of (task, crate sources, review
verdict): the grader itself restores the test files and re-applies the test patch, and cargo and
the tests are deterministic. :func:`install` wraps ``cargogym.rewards.grading.grade`` so that a
state graded once by real cargo is not re-tested: the key is the task id + base commit + a
content hash of ``workspace.snapshot()`` (every source file that differs from the broken start)
+ the verdict. Only valid reports are cached. The env calls ``grade`` through the module
attribute at episode end, so the wrapper is picked up without touching the env.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

_LOCK = threading.Lock()
_CACHE: dict[tuple, dict[str, Any]] = {}
STATS = {"hits": 0, "misses": 0}


def state_key(task: Any, workspace: Any, review_verdict: str | None) -> tuple:
    from cargogym.tasks.record import content_hash

    snap = workspace.snapshot()
    files = {p: ("\0deleted" if t is None else t) for p, t in snap.items()}
    return (task.instance_id, task.base_commit, content_hash(files), review_verdict)


def install() -> None:
    """Wrap ``cargogym.rewards.grading.grade`` with the cache (idempotent)."""
    import cargogym.rewards.grading as grading

    if getattr(grading.grade, "_cargogym_cached", False):
        return
    original = grading.grade

    def cached_grade(task, workspace, sandbox, review_verdict=None, **kw):
        try:
            key = state_key(task, workspace, review_verdict) + (tuple(sorted(kw.items())),)
        except Exception:  # unreadable workspace: grade for real
            return original(task, workspace, sandbox, review_verdict, **kw)
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            STATS["hits"] += 1
            report = grading.GradingReport.from_dict(copy.deepcopy(hit))
            report.timings = {**report.timings, "cached": 1.0}
            return report
        STATS["misses"] += 1
        report = original(task, workspace, sandbox, review_verdict, **kw)
        if report.valid:
            with _LOCK:
                _CACHE[key] = report.to_dict()
        return report

    cached_grade._cargogym_cached = True  # type: ignore[attr-defined]
    cached_grade.__wrapped__ = original  # type: ignore[attr-defined]
    grading.grade = cached_grade


def uninstall() -> None:
    import cargogym.rewards.grading as grading

    original = getattr(grading.grade, "__wrapped__", None)
    if original is not None and getattr(grading.grade, "_cargogym_cached", False):
        grading.grade = original


def stats() -> dict[str, int]:
    return {**STATS, "entries": len(_CACHE)}
