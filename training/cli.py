"""``cargogym malt`` and ``cargogym train grpo|sft|dpo|learn``."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import typer

train_app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                        help="GRPO / SFT / DPO training from MALT trees, and the end-to-end learning run.")

_OVERRIDE = typer.Option([], "--set", "--override", "-o", help="config override key=value (repeatable)")


def _flags(**kw) -> list[str]:
    return [f"{k}={v}" for k, v in kw.items() if v is not None]


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A rich progress bar on stderr; yields ``update(advance=1, status="", total=None,
    description=None)``."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("ETA"),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=False)
    with progress:
        task_id = progress.add_task(description, total=total, status="")

        def update(advance: int = 1, status: str | None = None, total: int | None = None,
                   description: str | None = None) -> None:
            kw = {k: v for k, v in (("status", status), ("total", total), ("description", description))
                  if v is not None}
            progress.update(task_id, advance=advance, **kw)

        yield update


def malt(
    tasks: Optional[str] = typer.Option(None, help="tasks JSONL (default: the built-in set)"),
    branching: Optional[int] = typer.Option(None, help="samples per node at every level"),
    out: Optional[str] = typer.Option(None, help="trees JSONL to write"),
    policy: Optional[str] = typer.Option(None, help="malt-scripted | oracle | tiny-gpt-oss | hf:PATH | openai:URL"),
    workers: Optional[int] = typer.Option(None, help="Ray actors (0: in-process)"),
    limit: Optional[int] = typer.Option(None, help="only the first N tasks"),
    config: str = typer.Option("malt", "--config", "-c", help="YAML under configs/ or a path"),
    override: list[str] = _OVERRIDE,
) -> None:
    """Sample generator → verifier → refiner trees, value them, and write them as JSONL."""
    from rich.console import Console
    from rich.table import Table

    from cargogym.config import load_config
    from cargogym.rollouts.config import select_tasks
    from cargogym.training.malt import MaltConfig, sample_trees
    from cargogym.training.trees import assign_values, summarize, write_trees

    cfg = load_config(MaltConfig, config, list(override) + _flags(tasks=tasks, branching=branching, out=out,
                                                                   policy=policy, workers=workers, limit=limit))
    branching = cfg.level_branching()
    selected = select_tasks(cfg.tasks, cfg.limit, cfg.families)
    levels = len(cfg.roles)
    per_tree, width = 0, 1
    for b in branching:
        width *= b
        per_tree += width

    with progress_bar(f"MALT level 1/{levels} ({cfg.roles[0]})", per_tree * len(selected)) as update:
        def on_level(level: int, n: int, secs: float) -> None:
            nxt = f"MALT level {level + 2}/{levels} ({cfg.roles[level + 1]})" if level + 1 < levels else "MALT"
            update(advance=0, status=f"{cfg.roles[level]}: {n} nodes in {secs:.1f}s", description=nxt)

        trees = sample_trees(selected, cfg, on_level=on_level, on_node=lambda level: update())
        # nodes under failed (infra error) parents are never sampled: the bar ends at what ran
        ran = sum(len(t["nodes"]) - 1 for t in trees)
        update(advance=0, total=ran)
    assign_values(trees, cfg.value.op, cfg.value.temperature, cfg.value.scale)
    path = Path(cfg.out or f"runs/malt-{time.strftime('%Y%m%d-%H%M%S')}/trees.jsonl")
    write_trees(path, trees)
    s = summarize(trees, cfg.value.threshold)
    table = Table(title=f"MALT trees → {path}")
    for col in ("role", "nodes", "mean value", f"V > {cfg.value.threshold}"):
        table.add_column(col)
    for role, r in s["roles"].items():
        table.add_row(role, str(r["nodes"]), f"{r['mean_value']:.3f}", str(r["correct"]))
    Console().print(table)


def _train_cfg(config: str, override: list[str], **flags):
    from cargogym.config import load_config
    from cargogym.training.train import TrainConfig

    return load_config(TrainConfig, config, list(override) + _flags(**flags))


@train_app.command("grpo")
def grpo(
    trees: Optional[str] = typer.Option(None, help="MALT trees JSONL"),
    policy: Optional[str] = typer.Option(None, help="tiny-gpt-oss[:CONFIG.yaml] | hf:PATH"),
    out: Optional[str] = typer.Option(None, help="output folder"),
    epochs: Optional[int] = typer.Option(None),
    config: str = typer.Option("train", "--config", "-c"),
    override: list[str] = _OVERRIDE,
) -> None:
    """GRPO updates of the policy on the trees' sibling advantages."""
    from rich.console import Console

    from cargogym.training.train import train_grpo

    cfg = _train_cfg(config, override, trees=trees, policy=policy, out=out, epochs=epochs)
    with progress_bar("GRPO steps", None) as update:
        s = train_grpo(cfg, on_step=lambda i, m: update(
            total=m["total_steps"], status=f"loss {m['loss']:+.4f}  clip {m['clip_ratio']:.2f}  {m['step_time']:.2f}s"))
    Console().print(f"GRPO: {s['samples']} samples, {s['steps']} steps, mean step {s['mean_step_time']:.2f}s → {s['out']}")


@train_app.command("sft")
def sft(
    trees: Optional[str] = typer.Option(None, help="MALT trees JSONL"),
    out: Optional[str] = typer.Option(None, help="output folder"),
    run: bool = typer.Option(False, "--run", help="also train with TRL's SFTTrainer"),
    policy: Optional[str] = typer.Option(None),
    config: str = typer.Option("train", "--config", "-c"),
    override: list[str] = _OVERRIDE,
) -> None:
    """Export per-role SFT sets (nodes with V > threshold); --run trains with TRL."""
    from rich.console import Console

    from cargogym.training.train import export_sft

    cfg = _train_cfg(config, list(override) + (["sft.run=true"] if run else []), trees=trees, out=out, policy=policy)
    r = export_sft(cfg)
    Console().print(f"SFT sets {r['counts']} → {r['out']}")


@train_app.command("dpo")
def dpo(
    trees: Optional[str] = typer.Option(None, help="MALT trees JSONL"),
    out: Optional[str] = typer.Option(None, help="output folder"),
    run: bool = typer.Option(False, "--run", help="also train with TRL's DPOTrainer"),
    policy: Optional[str] = typer.Option(None),
    config: str = typer.Option("train", "--config", "-c"),
    override: list[str] = _OVERRIDE,
) -> None:
    """Export per-role sibling preference pairs (V+ vs V−); --run trains with TRL."""
    from rich.console import Console

    from cargogym.training.train import export_dpo

    cfg = _train_cfg(config, list(override) + (["dpo.run=true"] if run else []), trees=trees, out=out, policy=policy)
    r = export_dpo(cfg)
    Console().print(f"DPO pairs {r['counts']} → {r['out']}")


@train_app.command("learn")
def learn_command(
    out: Optional[str] = typer.Option(None, help="output folder (curve.json, learning_curve.json, curve.png, trees)"),
    iterations: Optional[int] = typer.Option(None),
    n_tasks: Optional[int] = typer.Option(None, "--n-tasks"),
    workers: Optional[int] = typer.Option(None),
    config: str = typer.Option("learn", "--config", "-c", help="YAML under configs/ or a path"),
    override: list[str] = _OVERRIDE,
) -> None:
    """End-to-end learning on CPU: env → Ray rollouts → MALT values → GRPO (choice format)."""
    from rich.console import Console

    from cargogym.config import load_config
    from cargogym.training.learn import LearnConfig, learn

    cfg = load_config(LearnConfig, config, list(override) + _flags(out=out, iterations=iterations, n_tasks=n_tasks,
                                                                    workers=workers))
    with progress_bar("GRPO iterations", cfg.iterations) as update:
        r = learn(cfg, on_iteration=lambda p: update(
            status=f"reward {p['mean_reward']:.3f}  gold {p['gold_pick_rate']:.2f}  "
                   f"rollout {p['rollout_s']:.1f}s  update {p['update_s']:.1f}s"))
    first, last = r["curve"][0]["mean_reward"], r["curve"][-1]["mean_reward"]
    Console().print(f"mean reward {first:.3f} → {last:.3f} in {len(r['curve'])} iterations, {r['wall_s']:.0f}s "
                    f"({'reached' if r['reached'] else 'did not reach'} {r['target']})")
