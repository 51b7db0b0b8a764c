"""Rollout throughput: episodes/s with 1 vs 2 Ray workers (oracle policy, built-in tasks),
env-side overhead per episode, and tokens/s of the tiny GPT-OSS MoE (CPU, or GPU when present).

1- and 2-worker runs are interleaved and the speed-up is the median of paired ratios. The
machine's busy cores during each run are recorded beside it: the speed-up two workers can give is
bounded by 2 / (cores one worker already keeps busy), and one worker's cargo builds (the library
and its test units compile in parallel) already use more than one core.

    python -m cargogym.benchmarks.bench_rollouts [--tasks N] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from cargogym.benchmarks.common import print_table, write_results


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot (/proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4], sum(fields)


def _one_run(tasks, workers: int) -> tuple[float, float, list[dict]]:
    """(episodes/s, machine cores kept busy, records) of one oracle rollout run (actor start-up
    included)."""
    from cargogym.rollouts.runner import run_rollouts
    from cargogym.rollouts.storage import read_records

    with tempfile.TemporaryDirectory() as out:
        b0, j0 = _cpu_jiffies()
        t0 = time.perf_counter()
        res = run_rollouts(tasks, "oracle", out, workers=workers, episodes_per_task=1)
        rate = res.written / (time.perf_counter() - t0)
        b1, j1 = _cpu_jiffies()
        busy = (b1 - b0) / max(1, j1 - j0) * (os.cpu_count() or 1)
        return rate, busy, read_records(f"{out}/trajectories.jsonl")


def _paired_runs(tasks, repeats: int) -> tuple[dict[int, list[float]], dict[int, list[float]], list[dict]]:
    """1-worker and 2-worker runs interleaved (1, 2, 1, 2, ...) so both see the same machine
    noise: ``({workers: rates}, {workers: busy cores}, records of the last 2-worker run)``."""
    _one_run(tasks, 2)  # warm-up: every crate's pristine cache built, Ray workers forked
    rates: dict[int, list[float]] = {1: [], 2: []}
    busy: dict[int, list[float]] = {1: [], 2: []}
    records: list[dict] = []
    for _ in range(repeats):
        for workers in (1, 2):
            rate, cores, records = _one_run(tasks, workers)
            rates[workers].append(rate)
            busy[workers].append(cores)
    return rates, busy, records


def _tokens_per_s(batch: int, new_tokens: int, repeats: int) -> dict:
    import torch

    from cargogym.policies.base import Sampling
    from cargogym.policies.hf import HFPolicy

    pol = HFPolicy.from_config(seed=0)
    conv = [{"role": "system", "content": "You are a Rust coder."}, {"role": "user", "content": "Fix the bug."}]
    prompts = [pol.encode_prompt(conv, [])] * batch
    pol.generate_from_ids(prompts, Sampling(max_new_tokens=4, seed=0))  # warm-up
    rates = []
    for r in range(repeats):
        t0 = time.perf_counter()
        comps = pol.generate_from_ids(prompts, Sampling(max_new_tokens=new_tokens, seed=r))
        rates.append(sum(len(c.token_ids) for c in comps) / (time.perf_counter() - t0))
    return {"device": pol.device, "batch": batch, "new_tokens": new_tokens,
            "tokens_per_s": statistics.median(rates), "torch_threads": torch.get_num_threads()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-rollouts", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    extra: dict = {}
    if not args.skip_rollouts:
        from cargogym.rollouts.config import select_tasks
        from cargogym.rollouts.runner import ensure_ray

        tasks = select_tasks(None, limit=args.tasks, families=["single_bug"])
        ensure_ray(num_cpus=2)
        rates, busy, recs = _paired_runs(tasks, args.repeats)
        all1, all2 = rates[1], rates[2]
        r1, r2 = statistics.median(all1), statistics.median(all2)
        paired = statistics.median(b / a for a, b in zip(all1, all2))
        walls = [r.get("rollout_wall_time", 0.0) for r in recs]
        tool_time = [sum(t.get("duration", 0.0) for t in r.get("turns", [])) for r in recs]
        overhead = [w - t for w, t in zip(walls, tool_time)]
        rows += [
            {"metric": "oracle episodes/s, 1 worker", "value": r1, "runs": len(all1)},
            {"metric": "oracle episodes/s, 2 workers", "value": r2, "runs": len(all2)},
            {"metric": "speed-up 2 vs 1 workers, median of paired runs", "value": paired, "runs": args.repeats,
             "goal": ">= 1.7"},
            {"metric": "machine cores busy, 1 worker (cargo builds use both)",
             "value": statistics.median(busy[1]), "runs": len(busy[1])},
            {"metric": "machine cores busy, 2 workers", "value": statistics.median(busy[2]), "runs": len(busy[2])},
            {"metric": "episode wall time, median s", "value": statistics.median(walls) if walls else 0.0, "runs": len(walls)},
            {"metric": "env-side overhead per episode (wall - tool time), median s",
             "value": statistics.median(overhead) if overhead else 0.0, "runs": len(overhead)},
        ]
        extra["speedup"] = paired
        extra["speedup_runs"] = [b / a for a, b in zip(all1, all2)]
        extra["busy_cores"] = {str(k): v for k, v in busy.items()}
    tok = _tokens_per_s(batch=8, new_tokens=64, repeats=args.repeats)
    rows.append({"metric": f"tiny GPT-OSS tokens/s ({tok['device']}, batch {tok['batch']})",
                 "value": tok["tokens_per_s"], "runs": args.repeats})
    extra["tiny_moe"] = tok
    print_table("rollouts", rows)
    path = write_results("rollouts", rows, extra)
    print(f"wrote {path}")
    return {"rows": rows, **extra}


if __name__ == "__main__":
    main()
