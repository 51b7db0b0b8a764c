"""Teacher data volume: wall time to produce >= 100 grounded multi-role trajectories (goal: 100).

The scripted teacher plays the multi-role variant on the built-in multi_bug tasks in the real
envs (real cargo), ``--workers`` processes, as ``cargogym data teacher`` does. It runs rounds of
one episode per task (a new seed each round) until ``--min-trajectories`` grounded trajectories
exist or ``--max-rounds`` is reached. A trajectory is *grounded* when it is a multi_role-variant
episode with status ok, resolved by grading, and every turn has an env observation and no error
(every tool result it trains on came from the env). Writes wall time and counts to
``benchmarks/results/datagen.json`` (or ``--results``).

``python -m cargogym.benchmarks.bench_datagen [--min-trajectories 100] [--workers 2]
[--families multi_bug] [--variants multi_role] [--tasks-limit N] [--out DIR] [--results PATH]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cargogym.benchmarks.common import RESULTS_DIR, machine, print_table

GOAL_TRAJECTORIES = 100


def is_grounded_multi_role(rec: dict[str, Any]) -> bool:
    """A resolved multi_role-variant episode whose every turn has an env observation and no error."""
    turns = rec.get("turns") or []
    return (rec.get("variant") == "multi_role" and rec.get("status") == "ok"
            and bool((rec.get("grading") or {}).get("resolved")) and bool(turns)
            and all(isinstance(t, dict) and not t.get("error") and t.get("observation") is not None for t in turns))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="bench_datagen", description=__doc__.splitlines()[0])
    ap.add_argument("--min-trajectories", type=int, default=GOAL_TRAJECTORIES)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--families", default="multi_bug", help="comma-separated task families")
    ap.add_argument("--variants", default="multi_role", help="comma-separated teacher variants")
    ap.add_argument("--tasks-limit", type=int, default=None, help="only the first N tasks")
    ap.add_argument("--max-rounds", type=int, default=None,
                    help="rounds of one episode per task (default: enough for the target, plus one)")
    ap.add_argument("--out", default=None, help="keep the generated data here (default: a temporary folder)")
    ap.add_argument("--results", default=str(RESULTS_DIR / "datagen.json"), help="results JSON path")
    args = ap.parse_args(argv)
    if args.min_trajectories < 1 or args.workers < 1:
        ap.error("--min-trajectories and --workers must be >= 1")

    from cargogym.datagen.config import DataConfig
    from cargogym.datagen.run import generate
    from cargogym.datagen.samples import read_jsonl
    from cargogym.errors import require_cargo
    from cargogym.rollouts.config import select_tasks

    require_cargo()
    variants = [v for v in args.variants.split(",") if v]
    tasks = select_tasks(None, args.tasks_limit, [f for f in args.families.split(",") if f])
    per_round = len(tasks)
    max_rounds = args.max_rounds or (-(-args.min_trajectories // per_round) + 1)
    tmp = tempfile.TemporaryDirectory(prefix="bench-datagen-") if args.out is None else None
    root = Path(args.out or tmp.name)

    grounded = episodes = samples = 0
    per_variant: Counter = Counter()
    rounds: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for rnd in range(max_rounds):
        if grounded >= args.min_trajectories:
            break
        need = args.min_trajectories - grounded
        # the last round plays only as many tasks as still needed (one trajectory per task expected)
        batch = tasks if need >= per_round else tasks[:need]
        cfg = DataConfig(variants=variants, workers=args.workers, seed=10_000 * rnd, validate=True)
        r0 = time.perf_counter()
        summary = generate(batch, cfg, root / f"round{rnd}")
        records = read_jsonl(root / f"round{rnd}" / "episodes.jsonl")
        got = sum(is_grounded_multi_role(r) for r in records)
        grounded += got
        episodes += len(records)
        samples += summary["samples"]
        per_variant.update(r.get("variant", "?") for r in records)
        rounds.append({"round": rnd, "tasks": len(batch), "episodes": len(records), "grounded": got,
                       "wall_s": time.perf_counter() - r0})
    wall = time.perf_counter() - t0

    met = grounded >= args.min_trajectories
    rows = [
        {"metric": "grounded multi-role trajectories", "value": grounded, "goal": f">= {args.min_trajectories}",
         "met": met},
        {"metric": "teacher episodes", "value": episodes, "goal": "", "met": ""},
        {"metric": "wall time, s", "value": wall, "goal": "", "met": ""},
        {"metric": "grounded trajectories per minute", "value": 60 * grounded / wall if wall > 0 else 0.0,
         "goal": "", "met": ""},
        {"metric": "Harmony samples (validated)", "value": samples, "goal": "", "met": ""},
    ]
    print_table(f"Teacher data: {','.join(variants)} on {len(tasks)} {args.families} task(s), "
                f"{args.workers} worker(s)", rows)
    try:
        import os

        load = os.getloadavg()
    except OSError:
        load = None
    result = {"benchmark": "datagen", "machine": machine(), "rows": rows, "goal_trajectories": args.min_trajectories,
              "grounded_multi_role_trajectories": grounded, "episodes": episodes, "samples": samples,
              "wall_s": wall, "met": met, "workers": args.workers, "tasks": len(tasks), "families": args.families,
              "variants": variants, "per_variant": dict(per_variant), "rounds": rounds, "loadavg": load}
    out = Path(args.results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    if tmp is not None:
        tmp.cleanup()
    return result


if __name__ == "__main__":  # pragma: no cover
    main()
