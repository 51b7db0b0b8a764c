"""``cargogym rescore RUN_DIR [--config rescore] [--set key=value] [--reward SPEC] [--output FILE]``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import typer


def rescore(
    run_dir: Path = typer.Argument(..., help="Run folder (or a trajectories JSONL file)."),
    config: str = typer.Option("rescore", "--config", "-c", help="Rescore config name under configs/ or a YAML path."),
    overrides: Optional[list[str]] = typer.Option(None, "--set", help="Config override key=value (repeatable)."),
    reward: Optional[str] = typer.Option(None, "--reward", "-r",
                                         help="Reward spec: a name under configs/rewards or a YAML path (wins over --set)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the rescored episodes to this JSONL."),
) -> None:
    """Recompute rewards of stored trajectories from their grading reports (no cargo runs)."""
    from rich.console import Console
    from rich.table import Table

    from cargogym.config import load_config
    from cargogym.rewards.rescore import RescoreConfig, rescore_run

    cfg = load_config(RescoreConfig, config, overrides or [])
    flags = {"reward": reward, "output": str(output) if output is not None else None}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in flags.items() if v is not None})
    res = rescore_run(run_dir, cfg.reward, cfg.output)
    table = Table(title=f"rescore {run_dir} with {res.spec} ({res.episodes} episodes)")
    table.add_column("what")
    table.add_column("old mean", justify="right")
    table.add_column("new mean", justify="right")
    fmt = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
    table.add_row("reward", fmt(res.old_mean), fmt(res.new_mean))
    for role in sorted(set(res.by_role_old) | set(res.by_role_new)):
        table.add_row(f"role {role}", fmt(res.by_role_old.get(role)), fmt(res.by_role_new.get(role)))
    for term, v in res.term_means.items():
        table.add_row(f"term {term}", "", fmt(v))
    Console().print(table)
    if res.output:
        Console().print(f"rescored episodes written to {res.output}")
