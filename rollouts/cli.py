"""``cargogym rollout``: parallel episodes on Ray with a live progress bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer


def rollout(
    config: Optional[str] = typer.Option("rollout", "--config", "-c", help="YAML under configs/ or a path"),
    policy: Optional[str] = typer.Option(None, help="oracle | random | noop | tiny-gpt-oss | hf:PATH | openai:URL[@MODEL]"),
    tasks: Optional[str] = typer.Option(None, help="tasks JSONL (default: the built-in set)"),
    workers: Optional[int] = typer.Option(None, help="Ray actors owning environments"),
    episodes_per_task: Optional[int] = typer.Option(None, "--episodes-per-task", "-k"),
    env: Optional[str] = typer.Option(None, help="RustRepo-v0 | MultiRoleRust-v0"),
    out: Optional[str] = typer.Option(None, help="run directory (default runs/<timestamp>)"),
    resume: bool = typer.Option(False, help="skip episodes already stored in OUT"),
    address: Optional[str] = typer.Option(None, help="join an existing Ray cluster (its GCS address, e.g. 10.0.0.1:6379)"),
    policy_placement: Optional[str] = typer.Option(None, "--policy-placement",
                                                   help="model policies: driver | actor (a Ray PolicyActor)"),
    limit: Optional[int] = typer.Option(None, help="only the first N tasks"),
    override: list[str] = typer.Option([], "--set", "--override", "-o", help="config override key=value (repeatable)"),
) -> None:
    """Run episodes in parallel and append them durably to OUT/trajectories.jsonl."""
    from rich.console import Console
    from rich.table import Table

    from cargogym.config import load_config
    from cargogym.policies.base import Sampling
    from cargogym.rollouts.config import RolloutConfig, select_tasks
    from cargogym.rollouts.progress import rollout_progress
    from cargogym.rollouts.runner import run_rollouts

    flags = {"policy": policy, "tasks": tasks, "workers": workers, "episodes_per_task": episodes_per_task,
             "env": env, "out": out, "address": address, "limit": limit, "policy_placement": policy_placement}
    overrides = list(override) + [f"{k}={v}" for k, v in flags.items() if v is not None]
    cfg = load_config(RolloutConfig, config, overrides)
    selected = select_tasks(cfg.tasks, cfg.limit, cfg.families)
    out_dir = Path(cfg.out or f"runs/{time.strftime('%Y%m%d-%H%M%S')}")
    total = len(selected) * cfg.episodes_per_task
    with rollout_progress(total, f"{cfg.policy} × {len(selected)} tasks") as on_episode:
        result = run_rollouts(
            selected, cfg.policy, out_dir, workers=cfg.workers, episodes_per_task=cfg.episodes_per_task,
            env_id=cfg.env, env_kwargs=cfg.env_kwargs, resume=resume, address=cfg.address,
            sampling=Sampling(**vars(cfg.sampling)), base_seed=cfg.seed, max_attempts=cfg.max_attempts,
            max_steps=cfg.max_steps, slots_per_worker=cfg.slots_per_worker, policy_placement=cfg.policy_placement,
            policy_gpus=cfg.policy_gpus, on_episode=on_episode)
    table = Table(title=f"rollout → {out_dir}")
    for col in ("episodes written", "skipped (resume)", "failed (infra)", "errors (episode)", "retries",
                "mean reward", "resolved", "ep/s"):
        table.add_column(col)
    table.add_row(str(result.written), str(result.skipped), str(result.failed), str(result.errors),
                  str(result.retries), f"{result.mean_reward:.3f}", f"{result.resolved_rate:.1%}",
                  f"{result.episodes_per_s:.2f}")
    Console().print(table)
    if result.failed or result.errors:
        Console(stderr=True).print(f"{result.failed + result.errors} episode(s) failed: see {out_dir / 'failures.jsonl'}")
        raise typer.Exit(code=1)
