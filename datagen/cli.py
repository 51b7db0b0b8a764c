"""``cargogym data``: teacher | decompose | pairs | mix (progress bars, summary tables, ``--validate``)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Teacher trajectories, decomposition, preference pairs and SFT mixes.")
console = Console()

VALIDATE_HELP = "parse every exported sample back (openai-harmony for Harmony) before writing"


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False)


def _table(title: str, rows: list[tuple[str, object]]) -> Table:
    t = Table(title=title)
    t.add_column("")
    t.add_column("value", justify="right")
    for k, v in rows:
        t.add_row(k, str(v))
    return t


def _read_inputs(paths: list[Path]) -> tuple[list[dict], list[dict]]:
    """Episode records and samples from JSONL files (a row with ``turns`` is an episode record)."""
    from cargogym.datagen.samples import iter_jsonl

    records, samples = [], []
    for p in paths:
        for row in iter_jsonl(p):
            (records if "turns" in row else samples).append(row)
    return records, samples


def _validate_all(rows: list[dict], what: str) -> None:
    from cargogym.datagen.samples import validate_sample

    with _progress() as prog:
        bar = prog.add_task(f"validating {what}", total=len(rows))
        for r in rows:
            validate_sample(r)
            prog.advance(bar)


@app.command()
def teacher(
    config: str = typer.Option("data", "--config", "-c", help="YAML under configs/ or a path"),
    tasks: Optional[str] = typer.Option(None, help="tasks JSONL (default: the built-in set)"),
    variants: Optional[str] = typer.Option(None, help="comma-separated: multi_role,solo,delegate,solo_partial"),
    episodes_per_task: Optional[int] = typer.Option(None, "--episodes-per-task", "-k"),
    workers: Optional[int] = typer.Option(None, help="parallel worker processes"),
    limit: Optional[int] = typer.Option(None, help="only the first N tasks"),
    endpoint: Optional[str] = typer.Option(None, help="OpenAI-compatible teacher URL[@MODEL] instead of the scripted one"),
    out: Optional[str] = typer.Option(None, help="output folder (default runs/data-<timestamp>)"),
    validate: Optional[bool] = typer.Option(None, "--validate/--no-validate", help=VALIDATE_HELP),
    override: list[str] = typer.Option([], "--set", "--override", "-o", help="config override key=value (repeatable)"),
) -> None:
    """Play the teacher on tasks in the real envs; write episodes.jsonl, samples.jsonl, summary.json."""
    from cargogym.datagen.config import load_data_config
    from cargogym.datagen.run import generate, plan_jobs
    from cargogym.rollouts.config import select_tasks

    flags = {"tasks": tasks, "episodes_per_task": episodes_per_task, "workers": workers, "limit": limit,
             "endpoint": endpoint, "out": out, "validate": validate}
    overrides = list(override) + [f"{k}={v}" for k, v in flags.items() if v is not None]
    if variants:
        overrides.append(f"variants=[{variants}]")
    cfg = load_data_config(config, overrides)
    selected = select_tasks(cfg.tasks, cfg.limit, cfg.families)
    out_dir = Path(cfg.out or f"runs/data-{time.strftime('%Y%m%d-%H%M%S')}")
    n = len(plan_jobs(selected, cfg))
    resolved = Counter()
    with _progress() as prog:
        bar = prog.add_task(f"teacher × {len(selected)} tasks", total=n)

        def on_episode(rec: dict) -> None:
            resolved[bool((rec.get("grading") or {}).get("resolved"))] += 1
            prog.update(bar, advance=1, description=f"teacher × {len(selected)} tasks "
                                                     f"(resolved {resolved[True]}/{sum(resolved.values())})")

        summary = generate(selected, cfg, out_dir, on_episode)
    t = Table(title=f"teacher → {out_dir}  ({summary['wall_s']:.0f} s, {summary['episodes_per_min']} episodes/min)")
    for col in ("variant", "episodes", "resolved", "infra errors", "mean steps", "delegations"):
        t.add_column(col, justify="right")
    for v, s in sorted(summary["per_variant"].items()):
        t.add_row(v, str(s["episodes"]), str(s["resolved"]), str(s["infra_error"]),
                  f"{s['steps'] / max(1, s['episodes']):.1f}", str(s["delegations"]))
    console.print(t)
    console.print(_table("samples", [*sorted(summary["samples_by_kind"].items()), ("total", summary["samples"]),
                                     ("resolved multi-role trajectories", summary["multi_role_trajectories"]),
                                     ("validated", summary["validated"])]))
    if any(s["infra_error"] for s in summary["per_variant"].values()):
        raise typer.Exit(code=1)


@app.command()
def decompose(
    inputs: list[Path] = typer.Argument(..., help="episode JSONL files (rollouts or teacher episodes.jsonl)"),
    out: Path = typer.Option(..., "--out", help="output samples JSONL"),
    include_unresolved: bool = typer.Option(False, help="also decompose unresolved episodes (reviewer requests changes)"),
    formatter: str = typer.Option("harmony", help="harmony | seed"),
    tasks: Optional[Path] = typer.Option(None, "--tasks", help="tasks JSONL of the episodes: phases then show "
                                         "the env's exact diff (else the agent's own patches stand in)"),
    validate: bool = typer.Option(True, "--validate/--no-validate", help=VALIDATE_HELP),
) -> None:
    """Split single-agent episodes into planner / coder / reviewer / tester samples, each phase
    shown as MultiRoleRust-v0 shows it."""
    from cargogym.datagen.decompose import decompose_records
    from cargogym.datagen.samples import write_jsonl
    from cargogym.envs.config import load_env_config
    from cargogym.tasks.record import read_tasks

    records, _ = _read_inputs(inputs)
    try:
        index = {t.instance_id: t for t in read_tasks(tasks)} if tasks is not None else None
    except (OSError, ValueError) as e:
        raise typer.BadParameter(f"{tasks}: {e}", param_hint="--tasks") from None
    env_cfg = load_env_config("env")
    samples = []
    with _progress() as prog:
        bar = prog.add_task("decomposing", total=len(records))
        for rec in records:
            samples += decompose_records([rec], include_unresolved, formatter, tasks=index, env_cfg=env_cfg)
            prog.advance(bar)
    if validate:
        _validate_all(samples, "samples")
    write_jsonl(out, samples)
    roles = Counter(s["role"] for s in samples)
    console.print(_table(f"decompose → {out}", [("episodes read", len(records)),
                                                ("episodes decomposed", len({s['episode_id'] for s in samples})),
                                                *sorted(roles.items()), ("samples", len(samples)),
                                                ("with the env's exact diff", sum(bool(s.get("diff_exact"))
                                                                                  for s in samples)),
                                                ("validated", validate)]))


@app.command()
def pairs(
    inputs: list[Path] = typer.Argument(..., help="episode JSONL files"),
    out: Path = typer.Option(..., "--out", help="output DPO JSONL (prompt, chosen, rejected, provenance)"),
    scope: str = typer.Option("episode", help="episode | first_turn"),
    formatter: str = typer.Option("harmony", help="harmony | seed"),
    validate: bool = typer.Option(True, "--validate/--no-validate", help="parse prompt+chosen / prompt+rejected back"),
) -> None:
    """Preference pairs: resolved delegating episode (chosen) vs worse solo episode (rejected)."""
    from cargogym.datagen.pairs import build_pairs, validate_pair
    from cargogym.datagen.samples import write_jsonl

    records, _ = _read_inputs(inputs)
    rows, stats = build_pairs(records, scope=scope, formatter=formatter)
    if validate:
        with _progress() as prog:
            bar = prog.add_task("validating pairs", total=len(rows))
            for r in rows:
                validate_pair(r)
                prog.advance(bar)
    write_jsonl(out, rows)
    console.print(_table(f"pairs → {out}", [("episodes read", len(records)), ("multi_bug tasks", stats.tasks),
                                            ("pairs", stats.pairs),
                                            *[(f"skipped: {k}", v) for k, v in sorted(stats.skipped.items())],
                                            ("validated", validate)]))


@app.command()
def mix(
    inputs: list[Path] = typer.Argument(..., help="sample JSONL files (episode records are converted)"),
    out: Path = typer.Option(..., "--out", help="output mix JSONL"),
    config: str = typer.Option("training_mix", "--config", "-c", help="YAML under configs/ or a path"),
    total: Optional[int] = typer.Option(None, help="mix size (default: the largest without repeats)"),
    seed: Optional[int] = typer.Option(None),
    dataset: Optional[Path] = typer.Option(None, help="also save a datasets.Dataset here: input_ids + assistant_masks "
                                           "when every sample is Harmony, else text"),
    text: bool = typer.Option(False, "--text", help="save the dataset as rendered text even for Harmony samples"),
    validate: Optional[bool] = typer.Option(None, "--validate/--no-validate", help=VALIDATE_HELP),
    override: list[str] = typer.Option([], "--set", "--override", "-o", help="config override key=value (repeatable)"),
) -> None:
    """Mix samples 60/25/15 (single-agent / multi-role / delegation) with a deterministic shuffle."""
    from cargogym.datagen.mix import build_mix, dataset_is_tokenized, load_mix_config, to_dataset
    from cargogym.datagen.records import episode_samples
    from cargogym.datagen.samples import write_jsonl

    flags = {"total": total, "seed": seed, "validate": validate}
    cfg = load_mix_config(config, list(override) + [f"{k}={v}" for k, v in flags.items() if v is not None])
    records, samples = _read_inputs(inputs)
    for rec in records:
        if rec.get("status", "ok") == "ok":
            samples += episode_samples(rec, source="rollout")
    rows, summary = build_mix(samples, cfg)
    write_jsonl(out, rows)
    if dataset is not None:
        tokenized = dataset_is_tokenized(rows) and not text
        to_dataset(rows, tokenized=tokenized).save_to_disk(str(dataset))
        console.print(f"dataset → {dataset}: " + ("input_ids + assistant_masks" if tokenized else
                      "text" + ("" if text else " (not every sample is Harmony: seed-dialect samples have no token ids)")))
    t = Table(title=f"mix → {out} (seed {summary['seed']})")
    for col in ("kind", "available", "taken", "share"):
        t.add_column(col, justify="right")
    for k, n in summary["taken"].items():
        t.add_row(k, str(summary["available"][k]), str(n), f"{n / max(1, summary['total']):.0%}")
    console.print(t)
    if summary["dropped"]:
        console.print("dropped: " + json.dumps(summary["dropped"]))
