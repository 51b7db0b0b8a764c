"""Learning, shown: env → Ray rollouts → MALT values → GRPO raises a tiny GPT-OSS's reward.

Each iteration samples one MALT tree per task with :class:`~cargogym.training.malt.MaltSampler`
(one level, the generator, ``group`` samples per task: a GRPO group), every node a real
``RustRepo-v0`` episode on a Ray actor — the policy's letter is turned into ``apply_patch`` of
that candidate then ``submit``, and cargo grades the crate (constrained action format:
:mod:`cargogym.training.choice`). Value iteration and sibling advantages
(:func:`~cargogym.training.trees.assign_values`) turn rewards into GRPO samples, and one
:class:`~cargogym.training.grpo.GRPOUpdater` step updates the tiny, randomly initialised
``GptOssForCausalLM``. The mean episode reward per iteration is the learning curve
(``OUT/curve.json``, ``OUT/curve.png``, and ``OUT/learning_curve.json`` in the
``{"steps", "mean_reward"}`` schema ``cargogym eval`` reads); the run stops when ``stop_after``
consecutive iterations reach ``target`` or the time budget is spent.

Limit: the trees are depth 1 (generator only; each node is a leaf), so value iteration is the
identity here and the inner-level backup (verifier / refiner values = mean of their children)
never runs inside this loop; it is exercised by ``cargogym malt`` + ``cargogym train grpo`` and
the tests of :mod:`cargogym.training.values` / :mod:`cargogym.training.trees`. A deeper choice
loop would need a choice format for the verifier (a read-only reviewer) and the refiner.

``cargogym train learn`` runs it; ``tests/test_training_learn.py`` (slow) checks the rise.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from cargogym.errors import CargogymError
from cargogym.training.grpo import GRPOConfig


class LearnError(CargogymError):
    pass


def _learn_grpo() -> GRPOConfig:
    return GRPOConfig(learning_rate=3e-3, loss_type="grpo", router_aux_loss_coef=0.01, max_grad_norm=1.0)


@dataclass
class LearnConfig:
    tasks: str | None = None          # tasks JSONL (default: the built-in set)
    families: list = field(default_factory=lambda: ["single_bug"])
    n_tasks: int = 4                  # the learnable task set: the first N tasks with distinct statements
    k: int = 4                        # candidate patches per task (chance = 1/k)
    group: int = 8                    # samples per task per iteration (the GRPO group)
    iterations: int = 40
    target: float = 0.9
    stop_after: int = 2               # consecutive iterations at or above target
    time_budget_s: float = 600.0
    workers: int = 2
    slots_per_worker: int = 4
    grade_cache: bool = True          # each distinct crate state is graded by cargo once per worker
    policy: str = "tiny-gpt-oss"
    seed: int = 0
    temperature: float = 1.0
    env_kwargs: dict = field(default_factory=lambda: {"reward": "resolved"})   # binary FULL reward
    value_op: str = "mean"
    scale: str = "grpo"
    out: str | None = None
    grpo: GRPOConfig = field(default_factory=_learn_grpo)


def select_learnable(cfg: LearnConfig) -> list[Any]:
    """The first ``n_tasks`` tasks (of ``families``) whose problem statements are distinct."""
    from cargogym.rollouts.config import select_tasks

    seen, out = set(), []
    for t in select_tasks(cfg.tasks, None, cfg.families):
        s = t.problem_statement.strip()
        if s and s not in seen and t.patch.strip():
            seen.add(s)
            out.append(t)
        if len(out) == cfg.n_tasks:
            break
    if len(out) < cfg.n_tasks:
        raise LearnError(f"only {len(out)} tasks with distinct problem statements (need {cfg.n_tasks})")
    return out


def learn(cfg: LearnConfig, on_iteration: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the loop; returns ``{"curve": [...], "reached": bool, ...}`` (also OUT/curve.json and
    OUT/learning_curve.json). Depth-1 trees only: see the module docstring."""
    import numpy as np
    import torch

    from cargogym.training.choice import ChoicePolicy, make_choice_tasks
    from cargogym.training.grpo import GRPOUpdater, samples_from_records
    from cargogym.training.malt import MaltConfig, MaltSampler, SamplingConfig
    from cargogym.training.model import load_model
    from cargogym.training.train import write_learning_curve
    from cargogym.training.trees import assign_values, grpo_samples, write_trees

    if cfg.iterations < 1 or cfg.group < 1:
        raise LearnError(f"iterations and group must be >= 1 (got {cfg.iterations}, {cfg.group})")
    start = time.time()
    out = Path(cfg.out or f"runs/learn-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    tasks = select_learnable(cfg)
    choice_tasks = make_choice_tasks(tasks, cfg.k, cfg.seed)
    torch.manual_seed(cfg.seed)
    model, model_name = load_model(cfg.policy, seed=cfg.seed)
    policy = ChoicePolicy(model, choice_tasks, seed=cfg.seed)
    updater = GRPOUpdater(model, cfg.grpo)
    gold = {c.instance_id: c.gold for c in choice_tasks}
    mcfg = MaltConfig(roles=["generator"], branching=cfg.group, env_roles={"generator": "coder"},
                      workers=cfg.workers, slots_per_worker=cfg.slots_per_worker, max_steps=4, seed=cfg.seed,
                      grade_cache=cfg.grade_cache,
                      env="RustRepo-v0", env_kwargs=dict(cfg.env_kwargs),
                      sampling=SamplingConfig(temperature=cfg.temperature, max_new_tokens=1))
    curve: list[dict[str, Any]] = []
    streak = 0
    with MaltSampler(mcfg) as sampler:
        for it in range(cfg.iterations):
            t0 = time.time()
            policy.picks.clear()
            trees = sampler.sample([c.task for c in choice_tasks], policy, seed=cfg.seed * 100_003 + it)
            t_roll = time.time() - t0
            tv = assign_values(trees, cfg.value_op, scale=cfg.scale)
            leaves = [n for t in trees for n in t["nodes"] if n["parent"] >= 0]
            failed = sum(n["status"] == "infra_error" for n in leaves)
            rewards = [n["reward"] for n in leaves if n["reward"] is not None and n["status"] != "infra_error"]
            resolved = [bool((n.get("grading") or {}).get("resolved")) for n in leaves if n.get("grading")]
            picks_gold = [k == gold[iid] for iid, k in policy.picks]
            records = grpo_samples(tv)
            t1 = time.time()
            metrics = updater.step(samples_from_records(records)) if records else {}
            point = {"iteration": it, "mean_reward": float(np.mean(rewards)) if rewards else 0.0,
                     "resolved_rate": float(np.mean(resolved)) if resolved else 0.0,
                     "gold_pick_rate": float(np.mean(picks_gold)) if picks_gold else 0.0,
                     "episodes": len(leaves), "infra_errors": failed, "grpo_samples": len(records),
                     "loss": metrics.get("loss"), "rollout_s": t_roll, "update_s": time.time() - t1,
                     "elapsed_s": time.time() - start}
            curve.append(point)
            if on_iteration:
                on_iteration(point)
            if it == 0 or it == cfg.iterations - 1:
                write_trees(out / f"trees_iter{it}.jsonl", trees)
            streak = streak + 1 if point["mean_reward"] >= cfg.target else 0
            if streak >= cfg.stop_after or time.time() - start > cfg.time_budget_s:
                break
    reached = streak >= cfg.stop_after
    result = {"curve": curve, "reached": reached, "target": cfg.target, "chance": 1.0 / cfg.k,
              "tasks": [c.instance_id for c in choice_tasks], "gold_letters": {c.instance_id: "ABCDEFGH"[c.gold]
                                                                              for c in choice_tasks},
              "policy": model_name, "wall_s": time.time() - start, "config": asdict(cfg)}
    (out / "curve.json").write_text(json.dumps(result, indent=2, default=str))
    write_learning_curve(out / "learning_curve.json", [p["iteration"] for p in curve],
                         [p["mean_reward"] for p in curve], resolved_rate=[p["resolved_rate"] for p in curve],
                         gold_pick_rate=[p["gold_pick_rate"] for p in curve], target=cfg.target,
                         chance=1.0 / cfg.k, policy=model_name)
    plot_curve(result, out / "curve.png")
    return result


def plot_curve(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = result["curve"]
    xs = [p["iteration"] for p in curve]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, [p["mean_reward"] for p in curve], marker="o", label="mean episode reward")
    ax.plot(xs, [p["gold_pick_rate"] for p in curve], linestyle="--", label="gold patch chosen")
    ax.axhline(result["target"], color="green", linewidth=0.8, label=f"target {result['target']}")
    ax.axhline(result["chance"], color="grey", linewidth=0.8, linestyle=":", label=f"chance 1/{round(1 / result['chance'])}")
    ax.set_xlabel("GRPO iteration")
    ax.set_ylabel("reward (cargo-graded)")
    ax.set_ylim(-0.05, 1.05)
    ax.set_title(f"tiny GPT-OSS learns ({result['policy']}, {len(result['tasks'])} tasks)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
