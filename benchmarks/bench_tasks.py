"""Task synthesis speed: validated tasks per minute on the built-in corpus (goal ≥ 30/min on 2 cores).

1. Cold: the one-off build of each crate's pre-built seed copy (what every mutant avoids).
2. Warm: ``generate`` (all five families) over the chosen crates with 1 worker and with 2 workers,
   side by side, ``--repeats`` times (seed = repeat index); the median tasks/min, validated
   candidates/min and seconds per incremental build are reported, and the 2-vs-1 worker ratio.

``python -m cargogym.benchmarks.bench_tasks [--crates a,b] [--per-crate N] [--repeats R] [--workers 1,2]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from cargogym.benchmarks.common import print_table, write_results

GOAL_TASKS_PER_MIN = 30.0


def _default_crates() -> str:
    from cargogym.tasks.corpus import builtin_crates

    return ",".join(list(builtin_crates())[:3])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="bench_tasks", description=__doc__.splitlines()[0])
    ap.add_argument("--crates", default=None, help="comma-separated crates (default: the first three built-in)")
    ap.add_argument("--per-crate", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--cache", default=None, help="cache folder (default: a fresh temporary one)")
    args = ap.parse_args(argv)

    from cargogym.errors import require_cargo
    from cargogym.tasks.corpus import read_crate, resolve_crates
    from cargogym.tasks.generate import TaskGenConfig, generate
    from cargogym.tasks.validate import CrateValidator

    require_cargo()
    crates = args.crates or _default_crates()
    workers = [int(w) for w in args.workers.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="bench-tasks-") if args.cache is None else None
    cache = Path(args.cache or tmp.name)

    cold_rows = []
    for name, path in resolve_crates(crates).items():
        t0 = time.perf_counter()
        with CrateValidator(name, read_crate(path), workers=max(workers), cache_root=cache) as v:
            seconds = time.perf_counter() - t0
            cold_rows.append({"crate": name, "tests": len(v.baseline.tests), "cold_setup_s": seconds,
                              "baseline_test_s": v.baseline.test_seconds})

    runs: dict[int, list[dict]] = {w: [] for w in workers}
    for rep in range(args.repeats):
        for w in workers:
            cfg = TaskGenConfig(crates=crates, per_crate=args.per_crate, seed=rep, workers=w, cache_dir=str(cache))
            t0 = time.perf_counter()
            tasks, summary = generate(cfg)
            wall = time.perf_counter() - t0
            runs[w].append({"wall_s": wall, "tasks": len(tasks), "builds": summary.builds,
                            "build_s": summary.build_seconds, "families": len({t.family for t in tasks})})

    rows = []
    for w in workers:
        rs = runs[w]
        tpm = statistics.median(60 * r["tasks"] / r["wall_s"] for r in rs)
        cpm = statistics.median(60 * r["builds"] / r["wall_s"] for r in rs)
        per_build = statistics.median(r["build_s"] / max(r["builds"], 1) for r in rs)
        rows.append({"workers": w, "runs": len(rs), "tasks": rs[0]["tasks"],
                     "wall_s": statistics.median(r["wall_s"] for r in rs),
                     "tasks/min": tpm, "candidates/min": cpm, "s/build": per_build,
                     "goal": f">= {GOAL_TASKS_PER_MIN:.0f}" if w == max(workers) else "",
                     "ok": str(tpm >= GOAL_TASKS_PER_MIN) if w == max(workers) else ""})
    ratio = None
    if len(workers) >= 2:
        lo, hi = min(workers), max(workers)
        pairs = [b["wall_s"] and (a["wall_s"] / a["tasks"]) / (b["wall_s"] / b["tasks"])
                 for a, b in zip(runs[lo], runs[hi]) if a["tasks"] and b["tasks"]]
        ratio = statistics.median(pairs) if pairs else None
    print_table("Task synthesis: cold seed builds", cold_rows)
    print_table(f"Task synthesis on {crates} ({args.per_crate}/crate, all five families)", rows)
    if ratio is not None:
        print(f"speed-up {max(workers)} workers vs {min(workers)}: {ratio:.2f}x (median of paired runs)")
    try:
        import os

        load = os.getloadavg()
    except OSError:
        load = None
    out = write_results("tasks", rows, {"crates": crates, "per_crate": args.per_crate, "cold": cold_rows,
                                        "runs": runs, "speedup": ratio, "loadavg": load})
    print(f"wrote {out}")
    if tmp is not None:
        tmp.cleanup()
    return {"rows": rows, "cold": cold_rows, "speedup": ratio}


if __name__ == "__main__":  # pragma: no cover
    main()
