"""Training-core speed: MALT value iteration + pair extraction, and the GRPO step of the tiny MoE.

1. Value iteration (mean, and softmax side by side) + sibling preference pairs + GRPO advantages +
   SFT sets over 10,000 MALT trees of 27 leaves (3 × 3 × 3; 400,000 nodes) in one forest; the
   goal is ≤ 1 s. The JSONL → forest layout of the same trees is timed separately (I/O side).
2. One GRPO update (forward, backward, AdamW) of the tiny GPT-OSS (configs/policies/tiny-gpt-oss.yaml,
   201,088-token vocabulary) on CPU — and on GPU when one is present — for a batch of
   ``--batch`` completions of ``--completion`` tokens after ``--prompt``-token prompts, with the
   router aux loss on.

``python -m cargogym.benchmarks.bench_training [--trees N] [--batch B] [--repeats R] [--skip-grpo]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from cargogym.benchmarks.common import median_time, print_table, write_results


def bench_values(n_trees: int, repeats: int) -> list[dict]:
    from cargogym.training.advantages import tree_advantages
    from cargogym.training.trees import tree_forest
    from cargogym.training.values import Forest, preference_pairs, sft_indices, value_iteration

    template = Forest.full_tree(3, np.zeros(27))
    rng = np.random.default_rng(0)
    rewards = np.full((n_trees, template.size), np.nan)
    rewards[:, template.is_leaf()] = rng.integers(0, 2, (n_trees, 27)).astype(float)
    rows = []
    counts = {}
    for op in ("mean", "softmax"):
        def run(op=op):
            forest = template.tile(n_trees, rewards)   # fresh forest: no cached depth / plan
            v = value_iteration(forest, op)
            pairs = preference_pairs(forest, v)
            adv = tree_advantages(forest, v)
            sft = sft_indices(forest, v)
            counts[op] = (len(pairs), int(sum(len(x) for x in sft.values())), float(np.abs(adv).mean()))
        med, times = median_time(run, repeats=repeats, warmup=1)
        rows.append({"what": f"{op}: VI+pairs+adv+SFT", "trees": n_trees,
                     "nodes": n_trees * template.size, "median_s": med, "min_s": min(times),
                     "pairs": counts[op][0], "sft_nodes": counts[op][1], "goal_s": 1.0, "ok": med <= 1.0})
    # JSONL-shaped dicts → forest (the I/O side, per-node Python)
    base = [{"node_id": i, "parent": int(p), "role": template.role_name(int(r)),
             "reward": None if np.isnan(x) else float(x)}
            for i, (p, r, x) in enumerate(zip(template.parent, template.role, rewards[0]))]
    trees = [{"tree_id": str(k), "nodes": base} for k in range(n_trees)]
    med, times = median_time(lambda: tree_forest(trees), repeats=max(1, repeats // 2), warmup=0)
    rows.append({"what": "dicts→forest (I/O)", "trees": n_trees, "nodes": n_trees * template.size,
                 "median_s": med, "min_s": min(times), "pairs": 0, "sft_nodes": 0, "goal_s": None, "ok": True})
    return rows


def bench_grpo(batch: int, prompt: int, completion: int, repeats: int) -> list[dict]:
    import torch

    from cargogym.policies.hf import build_tiny_gpt_oss
    from cargogym.training.grpo import GRPOConfig, GRPOSample, GRPOUpdater

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    g = torch.Generator().manual_seed(0)
    samples = [GRPOSample(torch.randint(1000, 100000, (prompt,), generator=g).tolist(),
                          torch.randint(1000, 100000, (completion,), generator=g).tolist(),
                          1.0 if i % 2 else -1.0) for i in range(batch)]
    for dev in devices:
        model = build_tiny_gpt_oss(seed=0).to(dev)
        for loss_type, level in (("dapo", "token"), ("grpo", "sequence")):
            up = GRPOUpdater(model, GRPOConfig(loss_type=loss_type, importance_sampling=level,
                                               router_aux_loss_coef=0.01, micro_batch_size=batch))

            def step():
                up.step(samples)
                if dev == "cuda":
                    torch.cuda.synchronize()
            med, times = median_time(step, repeats=repeats, warmup=1)
            rows.append({"device": dev, "loss": f"{loss_type}/{level}", "batch": batch, "prompt_tokens": prompt,
                         "completion_tokens": completion, "median_step_s": med, "min_step_s": min(times),
                         "tokens_per_s": batch * (prompt + completion) / med})
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="bench_training")
    ap.add_argument("--trees", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--completion", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-grpo", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    values = bench_values(args.trees, args.repeats)
    print_table("MALT value iteration + pair extraction (10,000 trees × 27 leaves goal: ≤ 1 s)", values)
    grpo = [] if args.skip_grpo else bench_grpo(args.batch, args.prompt, args.completion, max(3, args.repeats // 2))
    if grpo:
        print_table("GRPO step of the tiny GPT-OSS MoE", grpo)
    path = write_results("training", values + grpo, {"values": values, "grpo": grpo,
                                                     "wall_s": time.perf_counter() - t0})
    print(f"wrote {path}")
    return {"values": values, "grpo": grpo}


if __name__ == "__main__":
    main()
